//! The sandbox's durable store: every accepted event and each of its deliveries, one SQLite file.
//!
//! Why SQLite (through `rusqlite`, SQLite bundled): a publish is acknowledged only once it is on
//! disk, and in WAL mode with `synchronous = NORMAL` a commit is a write into the log, not an
//! fsync, so it survives the sandbox being killed (not a power cut, which a sandbox need not
//! survive) at tens of thousands of commits a second; several publishes in flight share one
//! transaction ([`Store::publish_all`]). Listing failed or dead deliveries is an indexed query,
//! and the file opens with any `sqlite3` shell. An embedded key-value store (redb, sled) would
//! need its own indexes for the same queries and, in redb's case, an fsync per durable commit.
//!
//! Each subscriber of an event gets a delivery of its own, with its own attempts and state, so a
//! failing handler is retried without re-running its siblings. Every attempt is kept (when it
//! started, how long it took, what became of it), and so is the delivery whose handler published
//! an event, so that one delivery can be shown in full ([`Store::detail`]), with what its handler
//! wrote through `tracing` during each attempt. Nothing is removed but the dead letters a user
//! purges ([`Store::purge`]): the store keeps earlier runs of the sandbox until
//! `cargo eventfn dev --reset`.
//!
//! SQLite copies the log back into the database (a checkpoint, with an fsync of each) every 1,000
//! pages by default, inside the commit that passes the mark: a publish arriving then waited
//! 3–5 ms, and at 64 publishes in flight those waits were the slowest percent. The store's own
//! connection therefore never checkpoints at that size; a second connection on a thread of its
//! own (the checkpointer) does, a quarter of a second after commits, while commits go on (WAL
//! lets a checkpoint and a writer run at once). One sandbox per store is kept by a lock on a file
//! beside it (`sandbox.db-lock`), which the system releases when the process dies.
//!
//! The layout has a version (SQLite's `user_version`): a store of an earlier layout is migrated
//! when it is opened, in one transaction, and one of a later layout (written by a newer eventfn)
//! is refused rather than misread.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};

use eventfn_core::Kind;
use eventfn_core::sandbox::DeliveryView;

/// A delivery's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Waiting for its time, or for a retry.
    Pending,
    /// Handled.
    Done,
    /// Failed on every attempt its handler allows: a dead letter, until replayed.
    Dead,
    /// Not delivered: the payload does not match the handler's filter, as on AWS, where the
    /// handler's SNS subscription drops it.
    Filtered,
}

impl State {
    /// The state as stored and as the HTTP API lists it: `pending`, `done`, `dead` or
    /// `filtered`.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Done => "done",
            State::Dead => "dead",
            State::Filtered => "filtered",
        }
    }

    fn parse(text: &str) -> Option<State> {
        [State::Pending, State::Done, State::Dead, State::Filtered]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// An event to store, with the handlers it goes to.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    /// An event, a queue job or a schedule's firing.
    pub kind: Kind,
    /// The event, queue or schedule name.
    pub name: &'a str,
    /// The payload, as JSON.
    pub body: &'a str,
    /// When published, in milliseconds since the Unix epoch.
    pub time: u64,
    /// How long to wait before delivering, in milliseconds.
    pub delay: u64,
    /// The handlers (their Rust paths) that receive it.
    pub handlers: &'a [&'a str],
    /// The handlers whose filter it does not match: recorded as filtered, never delivered.
    pub filtered: &'a [&'a str],
    /// The delivery whose handler published it, when a handler did.
    pub published_by: Option<i64>,
}

/// A delivery of an event to one handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Its id in the store.
    pub id: i64,
    /// The id of the event it delivers, shared by every subscriber's delivery of it.
    pub event: i64,
    /// The event's kind.
    pub kind: Kind,
    /// The event, queue or schedule name.
    pub name: String,
    /// The payload, as JSON; empty in a listing that left it out ([`Store::list`]), since a
    /// stored payload, being JSON, never is.
    pub body: String,
    /// The payload's size in bytes, as JSON.
    pub size: usize,
    /// When the event was published, in milliseconds since the Unix epoch.
    pub time: u64,
    /// The delay asked for, in milliseconds.
    pub delay: u64,
    /// The receiving handler's Rust path.
    pub handler: String,
    /// Where it stands.
    pub state: State,
    /// Attempts made so far.
    pub attempts: u32,
    /// When it is (or was) due, in milliseconds since the Unix epoch.
    pub due: u64,
    /// How long its last attempt took, in microseconds.
    pub duration_us: Option<u64>,
    /// Why its last attempt failed.
    pub error: Option<String>,
    /// The delivery whose handler published its event, when a handler did.
    pub published_by: Option<i64>,
}

/// What became of an attempt, as kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// It is running.
    Running,
    /// The handler succeeded.
    Done,
    /// It failed, and the delivery was retried.
    Retry,
    /// It failed, and the delivery became a dead letter.
    Dead,
    /// The sandbox stopped (was stopped, or a handler took it down) during it.
    Stopped,
}

impl Ended {
    /// As stored (`NULL` while running) and as the HTTP API shows it: `running`, `done`, `retry`,
    /// `dead` or `stopped`.
    pub fn as_str(self) -> &'static str {
        match self {
            Ended::Running => "running",
            Ended::Done => "done",
            Ended::Retry => "retry",
            Ended::Dead => "dead",
            Ended::Stopped => "stopped",
        }
    }

    fn parse(text: &str) -> Option<Ended> {
        [Ended::Done, Ended::Retry, Ended::Dead, Ended::Stopped]
            .into_iter()
            .find(|e| e.as_str() == text)
    }
}

/// One attempt at a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// Which attempt, from 1, as the handler's `Context::attempt` saw it (a replay counts anew).
    pub attempt: u32,
    /// When it started, in milliseconds since the Unix epoch.
    pub started: u64,
    /// How long it took, in microseconds; `None` while it runs, or if the sandbox stopped during
    /// it.
    pub duration_us: Option<u64>,
    /// What became of it.
    pub ended: Ended,
    /// Why it failed.
    pub error: Option<String>,
    /// What the handler wrote through `tracing` during it.
    pub log: Option<String>,
}

/// One delivery in full: what [`Store::detail`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detail {
    /// The delivery, with its whole payload.
    pub delivery: Delivery,
    /// Its attempts, oldest first: the last [`MAX_ATTEMPTS`] of them.
    pub attempts: Vec<Attempt>,
    /// How many earlier attempts are left out.
    pub earlier_attempts: u64,
    /// The deliveries of the events its handler published, oldest first: the first
    /// [`MAX_PUBLISHED`], with payloads as a listing has them.
    pub published: Vec<Delivery>,
    /// How many more deliveries of what it published are left out.
    pub more_published: u64,
}

/// The most attempts [`Store::detail`] returns: a delivery replayed again and again may have
/// more.
pub const MAX_ATTEMPTS: usize = 1000;

/// The most deliveries of what a handler published that [`Store::detail`] returns: a handler that
/// fans out may publish thousands.
pub const MAX_PUBLISHED: usize = 1000;

/// What became of an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Handled.
    Done,
    /// Failed; tried again at `due`.
    Retry {
        /// When to try again, in milliseconds since the Unix epoch.
        due: u64,
        /// Why it failed.
        error: String,
    },
    /// Failed, with no attempt left.
    Dead {
        /// Why it failed.
        error: String,
    },
}

/// Which deliveries [`Store::list`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    /// Every delivery.
    All,
    /// Those whose last attempt failed, pending a retry or dead.
    Failed,
    /// Dead letters.
    Dead,
}

/// The store: an open SQLite file, locked to one sandbox ([`Store::open`]).
pub struct Store {
    /// Dropped first: its connection closes before the store's own, which then (as the last
    /// connection) checkpoints what is left and removes the log.
    checkpointer: Checkpointer,
    db: Connection,
    /// Locked while the store is open.
    _lock: std::fs::File,
}

/// How often the checkpointer looks for commits to copy into the database.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// Log pages past which the store's own connection checkpoints in a commit after all, should the
/// checkpointer fall behind: 40 MB of log at SQLite's 4 KB pages. Passed under a steady load
/// whose log never ends between two checkpoints, which SQLite then cannot start over.
const CHECKPOINT_IN_COMMIT_PAST: i64 = 10_000;

/// A thread with a connection of its own that checkpoints the log ([`CHECKPOINT_EVERY`]) when
/// there were commits, so that no commit waits for a checkpoint.
struct Checkpointer {
    /// Set by every commit.
    dirty: Arc<AtomicBool>,
    /// Dropped to stop the thread.
    stop: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    fn start(path: &Path) -> Result<Checkpointer> {
        let db = Connection::open(path)
            .map_err(|e| format!("sandbox store: cannot open {}: {e}", path.display()))?;
        let dirty = Arc::new(AtomicBool::new(false));
        let (stop, stopped) = mpsc::channel::<()>();
        let seen = dirty.clone();
        let thread = std::thread::Builder::new()
            .name("eventfn-checkpoint".to_owned())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(CHECKPOINT_EVERY)
                {
                    if seen.swap(false, Ordering::Relaxed) {
                        // PASSIVE copies what it can without waiting for the writer; a failure
                        // leaves the log to the next one (or to the writer past its mark).
                        let _ = db.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                    }
                }
            })
            .map_err(|e| format!("sandbox store: cannot start the checkpointer: {e}"))?;
        Ok(Checkpointer {
            dirty,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

type Result<T> = std::result::Result<T, String>;

fn sql(context: &str) -> impl Fn(rusqlite::Error) -> String + '_ {
    move |e| format!("sandbox store: {context}: {e}")
}

/// The layout this version of eventfn reads and writes, kept as SQLite's `user_version`: 0 was
/// the first (durations in milliseconds, no attempts kept); 1 keeps attempts and who published
/// what, and durations in microseconds; 2 keeps each attempt's `tracing` lines, and finds dead
/// letters by an index.
const LAYOUT: i64 = 2;

/// The attempts table and the layout's number, as a new store and the step from layout 0 both
/// write them: a literal, for `concat!`.
macro_rules! attempts_and_version {
    () => {
        "
    CREATE TABLE attempts (
        id INTEGER PRIMARY KEY,
        delivery INTEGER NOT NULL REFERENCES deliveries (id),
        attempt INTEGER NOT NULL,
        started INTEGER NOT NULL,
        duration_us INTEGER,
        ended TEXT,
        error TEXT
    );
    CREATE INDEX attempts_of ON attempts (delivery);
    PRAGMA user_version = 1;
"
    };
}

/// A new store, in the current layout.
const SCHEMA: &str = concat!(
    "
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        body TEXT NOT NULL,
        time INTEGER NOT NULL,
        delay INTEGER NOT NULL,
        published_by INTEGER REFERENCES deliveries (id)
    );
    CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY,
        event INTEGER NOT NULL REFERENCES events (id),
        handler TEXT NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        due INTEGER NOT NULL,
        duration_us INTEGER,
        error TEXT
    );
    CREATE INDEX deliveries_pending ON deliveries (due) WHERE state = 'pending';
    CREATE INDEX deliveries_failed ON deliveries (id) WHERE error IS NOT NULL;
    CREATE INDEX deliveries_of ON deliveries (event);
    CREATE INDEX events_published_by ON events (published_by) WHERE published_by IS NOT NULL;
",
    attempts_and_version!()
);

/// From layout 1 to 2.
const MIGRATE_1_TO_2: &str = "
    ALTER TABLE attempts ADD COLUMN log TEXT;
    CREATE INDEX deliveries_dead ON deliveries (handler) WHERE state = 'dead';
    PRAGMA user_version = 2;
";

/// From layout 0 to 1. Durations were whole milliseconds: in microseconds they are what they
/// were, and the attempts before it have no history.
const MIGRATE_0_TO_1: &str = concat!(
    "
    ALTER TABLE deliveries RENAME COLUMN duration TO duration_us;
    UPDATE deliveries SET duration_us = duration_us * 1000 WHERE duration_us IS NOT NULL;
    ALTER TABLE events ADD COLUMN published_by INTEGER REFERENCES deliveries (id);
    CREATE INDEX deliveries_of ON deliveries (event);
    CREATE INDEX events_published_by ON events (published_by) WHERE published_by IS NOT NULL;
",
    attempts_and_version!()
);

/// The columns [`row`] reads but the payload, which each query adds after them (`, e.body`):
/// [`row`] reads it always, a listing's [`Budget`] only when the listing carries it.
const COLUMNS: &str = "
    SELECT d.id, d.event, e.kind, e.name, length(CAST(e.body AS BLOB)), e.time, e.delay, d.handler,
           d.state, d.attempts, d.due, d.duration_us, d.error, e.published_by";

const FROM: &str = "FROM deliveries d JOIN events e ON e.id = d.event";

/// Column `index` read with `parse`; text it does not know (a store written by another version,
/// or damaged) is an error naming the column and the value, never a guess.
fn known<T>(
    r: &rusqlite::Row<'_>,
    index: usize,
    parse: fn(&str) -> Option<T>,
) -> rusqlite::Result<T> {
    let text: String = r.get(index)?;
    parse(&text).ok_or_else(|| {
        let why = format!("unknown value `{text}` in column {index} of the sandbox store");
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, why.into())
    })
}

/// A delivery from a query of [`COLUMNS`] followed by the payload.
fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Delivery> {
    let mut delivery = row_without_body(r)?;
    delivery.body = r.get(14)?;
    Ok(delivery)
}

fn attempt_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Attempt> {
    Ok(Attempt {
        attempt: r.get(0)?,
        started: r.get::<_, i64>(1)? as u64,
        duration_us: r.get::<_, Option<i64>>(2)?.map(|d| d as u64),
        ended: match r.get::<_, Option<String>>(3)? {
            None => Ended::Running,
            Some(_) => known(r, 3, Ended::parse)?,
        },
        error: r.get(4)?,
        log: r.get(5)?,
    })
}

/// What a listing carries of payloads: each of at most [`MAX_LISTED_PAYLOAD_BYTES`], until they
/// come to [`MAX_LISTED_PAYLOADS_BYTES`]. A payload is read only if it is carried.
///
/// [`MAX_LISTED_PAYLOAD_BYTES`]: eventfn_core::sandbox::MAX_LISTED_PAYLOAD_BYTES
/// [`MAX_LISTED_PAYLOADS_BYTES`]: eventfn_core::sandbox::MAX_LISTED_PAYLOADS_BYTES
struct Budget(usize);

impl Budget {
    fn new() -> Budget {
        Budget(eventfn_core::sandbox::MAX_LISTED_PAYLOADS_BYTES)
    }

    fn row(&mut self, r: &rusqlite::Row<'_>) -> rusqlite::Result<Delivery> {
        let size = r.get::<_, i64>(4)? as usize;
        let carried = size <= eventfn_core::sandbox::MAX_LISTED_PAYLOAD_BYTES && size <= self.0;
        let mut delivery = row_without_body(r)?;
        if carried {
            self.0 -= size;
            delivery.body = r.get(14)?;
        }
        Ok(delivery)
    }
}

fn row_without_body(r: &rusqlite::Row<'_>) -> rusqlite::Result<Delivery> {
    Ok(Delivery {
        id: r.get(0)?,
        event: r.get(1)?,
        kind: known(r, 2, Kind::parse)?,
        name: r.get(3)?,
        size: r.get::<_, i64>(4)? as usize,
        time: r.get::<_, i64>(5)? as u64,
        delay: r.get::<_, i64>(6)? as u64,
        handler: r.get(7)?,
        state: known(r, 8, State::parse)?,
        attempts: r.get(9)?,
        due: r.get::<_, i64>(10)? as u64,
        duration_us: r.get::<_, Option<i64>>(11)?.map(|d| d as u64),
        error: r.get(12)?,
        published_by: r.get(13)?,
        body: String::new(),
    })
}

impl Delivery {
    /// As the HTTP API shows it, without its payload: what a follower of the sandbox is told.
    pub fn view_without_body(&self) -> DeliveryView {
        Delivery {
            kind: self.kind,
            name: self.name.clone(),
            body: String::new(),
            handler: self.handler.clone(),
            error: self.error.clone(),
            ..*self
        }
        .view()
    }

    /// As the HTTP API shows it.
    pub fn view(self) -> DeliveryView {
        DeliveryView {
            id: self.id,
            event: self.event,
            kind: self.kind,
            name: self.name,
            handler: self.handler,
            state: self.state.as_str().to_owned(),
            attempts: self.attempts,
            time: self.time,
            delay: self.delay,
            due: self.due,
            duration: self.duration_us.map(|us| us / 1000),
            duration_us: self.duration_us,
            error: self.error,
            // A stored payload is JSON, never empty: empty is left out of a listing.
            body: (!self.body.is_empty()).then_some(self.body),
            size: self.size as u64,
            published_by: self.published_by,
            timezone: None,
        }
    }
}

/// Why a delivery cannot be shown or replayed: there is none with its id.
pub fn no_delivery(id: i64) -> String {
    format!(
        "there is no delivery {id} in the sandbox: `cargo eventfn events` lists its deliveries, \
         with their ids"
    )
}

impl Store {
    /// Opens (or creates) the store at `path`.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("sandbox store: cannot create {}: {e}", dir.display()))?;
        }
        // One sandbox per store: a second one on the same store would deliver its pending events
        // a second time. The lock is held until the store is closed or its process dies.
        let mut lock_path = path.as_os_str().to_owned();
        lock_path.push("-lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| {
                format!(
                    "sandbox store: cannot open {}: {e}",
                    Path::new(&lock_path).display()
                )
            })?;
        lock.try_lock().map_err(|e| match e {
            std::fs::TryLockError::WouldBlock => format!(
                "another sandbox is using the store at {}: stop it, or give this one a store of \
                 its own (`cargo eventfn dev --store DIR`)",
                path.display()
            ),
            std::fs::TryLockError::Error(e) => format!(
                "sandbox store: cannot lock {}: {e}",
                Path::new(&lock_path).display()
            ),
        })?;
        let db = Connection::open(path)
            .map_err(|e| format!("sandbox store: cannot open {}: {e}", path.display()))?;
        db.pragma_update(None, "journal_mode", "WAL")
            .map_err(sql("cannot turn on write-ahead logging"))?;
        db.pragma_update(None, "synchronous", "NORMAL")
            .map_err(sql("cannot set synchronous mode"))?;
        db.pragma_update(None, "wal_autocheckpoint", CHECKPOINT_IN_COMMIT_PAST)
            .map_err(sql("cannot set the checkpoint's mark"))?;
        let mut store = Store {
            checkpointer: Checkpointer::start(path)?,
            db,
            _lock: lock,
        };
        store.lay_out(path)?;
        // Nothing runs before the store is open: an attempt left running is one the sandbox
        // stopped during.
        store
            .db
            .execute(
                "UPDATE attempts SET ended = 'stopped' WHERE ended IS NULL",
                [],
            )
            .map_err(sql("cannot close the attempts of the last run"))?;
        Ok(store)
    }

    /// Creates the tables of a new store, or brings an earlier layout up to this one.
    fn lay_out(&mut self, path: &Path) -> Result<()> {
        let layout: i64 = self
            .db
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(sql("cannot read the layout's version"))?;
        let tables: i64 = self
            .db
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
                [],
                |r| r.get(0),
            )
            .map_err(sql("cannot read the tables"))?;
        let upgrade = "cannot bring the store up to this version of eventfn";
        let steps: &[(&str, &str)] = match layout {
            _ if tables == 0 => &[
                (SCHEMA, "cannot create the tables"),
                (MIGRATE_1_TO_2, "cannot create the tables"),
            ],
            LAYOUT => return Ok(()),
            0 => &[(MIGRATE_0_TO_1, upgrade), (MIGRATE_1_TO_2, upgrade)],
            1 => &[(MIGRATE_1_TO_2, upgrade)],
            newer => {
                return Err(format!(
                    "the sandbox store at {} has layout {newer}, written by a newer eventfn than \
                     this app's (which reads layout {LAYOUT}): run the app with that eventfn, or \
                     start from an empty store with `cargo eventfn dev --reset`",
                    path.display()
                ));
            }
        };
        self.atomically(|store| {
            steps
                .iter()
                .try_for_each(|(step, what)| store.db.execute_batch(step).map_err(sql(what)))
        })
    }

    /// Stores events and one pending delivery per handler of each, in one transaction; returns
    /// the events' ids. When this returns, they survive the sandbox being killed.
    pub fn publish_all(&mut self, events: &[NewEvent<'_>]) -> Result<Vec<(i64, Vec<Delivery>)>> {
        self.atomically(|store| store.insert(events))
    }

    /// Runs `work` in one transaction, committed if it succeeds and rolled back if it fails; inside
    /// another `atomically`, it joins that transaction. Many writes in one transaction cost one
    /// write of the log: how the sandbox stores publishes that arrive together (group commit).
    pub fn atomically<R>(&mut self, work: impl FnOnce(&mut Store) -> Result<R>) -> Result<R> {
        if !self.db.is_autocommit() {
            return work(self);
        }
        self.db
            .execute_batch("BEGIN")
            .map_err(sql("cannot begin a transaction"))?;
        let result = work(self).and_then(|r| {
            self.db
                .execute_batch("COMMIT")
                .map_err(sql("cannot commit"))
                .map(|()| r)
        });
        self.checkpointer.dirty.store(true, Ordering::Relaxed);
        if result.is_err() && !self.db.is_autocommit() {
            // What failed is the error to report; a failed rollback leaves nothing more to do.
            let _ = self.db.execute_batch("ROLLBACK");
        }
        result
    }

    fn insert(&mut self, events: &[NewEvent<'_>]) -> Result<Vec<(i64, Vec<Delivery>)>> {
        let tx = &self.db;
        let mut stored = Vec::with_capacity(events.len());
        {
            let mut insert_event = tx
                .prepare_cached(
                    "INSERT INTO events (kind, name, body, time, delay, published_by)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(sql("cannot prepare an insert"))?;
            let mut insert_delivery = tx
                .prepare_cached(
                    "INSERT INTO deliveries (event, handler, state, attempts, due)
                     VALUES (?1, ?2, 'pending', 0, ?3)",
                )
                .map_err(sql("cannot prepare an insert"))?;
            let mut insert_filtered = tx
                .prepare_cached(
                    "INSERT INTO deliveries (event, handler, state, attempts, due)
                     VALUES (?1, ?2, 'filtered', 0, ?3)",
                )
                .map_err(sql("cannot prepare an insert"))?;
            for event in events {
                insert_event
                    .execute(params![
                        event.kind.as_str(),
                        event.name,
                        event.body,
                        event.time as i64,
                        event.delay as i64,
                        event.published_by
                    ])
                    .map_err(sql("cannot store an event"))?;
                let id = tx.last_insert_rowid();
                let due = event.time.saturating_add(event.delay);
                let mut deliveries = Vec::with_capacity(event.handlers.len());
                for handler in event.handlers {
                    insert_delivery
                        .execute(params![id, handler, due as i64])
                        .map_err(sql("cannot store a delivery"))?;
                    deliveries.push(Delivery {
                        id: tx.last_insert_rowid(),
                        event: id,
                        kind: event.kind,
                        name: event.name.to_owned(),
                        body: event.body.to_owned(),
                        size: event.body.len(),
                        time: event.time,
                        delay: event.delay,
                        handler: (*handler).to_owned(),
                        state: State::Pending,
                        attempts: 0,
                        due,
                        duration_us: None,
                        error: None,
                        published_by: event.published_by,
                    });
                }
                for handler in event.filtered {
                    insert_filtered
                        .execute(params![id, handler, due as i64])
                        .map_err(sql("cannot store a filtered delivery"))?;
                }
                stored.push((id, deliveries));
            }
        }
        Ok(stored)
    }

    /// Counts attempt `attempt` of pending delivery `id` as begun at `started` (milliseconds
    /// since the Unix epoch): if the sandbox stops during it, the attempt stays spent. Returns
    /// the attempt's own id; `None` if the delivery is not pending.
    pub fn start(&mut self, id: i64, attempt: u32) -> Result<()> {
        self.db
            .prepare_cached(
                "UPDATE deliveries SET attempts = ?2 WHERE id = ?1 AND state = 'pending'",
            )
            .and_then(|mut update| update.execute(params![id, attempt]))
            .map_err(sql("cannot record an attempt"))?;
        Ok(())
    }

    /// Counts the attempts that [`super::journal`] says began and the store may not have
    /// committed, all or none: each for its delivery if still pending in the life it began in
    /// (the same due time), never lowering a count; then keeps each pending delivery's last
    /// attempt that never ended in the history, as stopped. Called once, at the start.
    pub fn count_begun(&mut self, begun: &[super::journal::Begun]) -> Result<()> {
        self.atomically(|store| {
            let mut update = store
                .db
                .prepare_cached(
                    "UPDATE deliveries SET attempts = MAX(attempts, ?2)
                     WHERE id = ?1 AND state = 'pending' AND due = ?3",
                )
                .map_err(sql("cannot count the attempts begun"))?;
            for b in begun {
                update
                    .execute(params![b.id, b.attempt, b.due as i64])
                    .map_err(sql("cannot count the attempts begun"))?;
            }
            drop(update);
            // An attempt is kept in the history when it ends; one that began and never ended
            // is one the sandbox stopped during (begun at its due time at the earliest: when
            // exactly is not kept).
            store
                .db
                .execute(
                    "INSERT INTO attempts (delivery, attempt, started, ended)
                     SELECT d.id, d.attempts, d.due, 'stopped' FROM deliveries d
                     WHERE d.state = 'pending' AND d.attempts > 0 AND NOT EXISTS
                     (SELECT 1 FROM attempts a WHERE a.delivery = d.id AND a.attempt = d.attempts)",
                    [],
                )
                .map_err(sql("cannot keep the attempts the sandbox stopped during"))?;
            Ok(())
        })
    }

    /// Records what became of attempt `attempt` of delivery `id`, which began at `started`
    /// (milliseconds since the Unix epoch; none for a delivery that was not attempted, or whose
    /// attempt began before the sandbox stopped) and took `duration_us` (none when not measured):
    /// in the delivery, and in its attempts' history.
    pub fn finish(
        &mut self,
        id: i64,
        attempt: u32,
        started: Option<u64>,
        duration_us: Option<u64>,
        outcome: &Outcome,
        log: Option<&str>,
    ) -> Result<()> {
        let (state, ended, due, error) = match outcome {
            Outcome::Done => (State::Done, Ended::Done, None, None),
            Outcome::Retry { due, error } => (
                State::Pending,
                Ended::Retry,
                Some(*due),
                Some(error.as_str()),
            ),
            Outcome::Dead { error } => (State::Dead, Ended::Dead, None, Some(error.as_str())),
        };
        let duration_us = duration_us.map(|d| d as i64);
        self.db
            .prepare_cached(
                "UPDATE deliveries SET state = ?2, attempts = ?3, duration_us = ?4, error = ?5,
                 due = COALESCE(?6, due) WHERE id = ?1",
            )
            .and_then(|mut update| {
                update.execute(params![
                    id,
                    state.as_str(),
                    attempt,
                    duration_us,
                    error,
                    due.map(|d| d as i64)
                ])
            })
            .map_err(sql("cannot record a delivery's outcome"))?;
        if let Some(started) = started {
            self.db
                .prepare_cached(
                    "INSERT INTO attempts (delivery, attempt, started, duration_us, ended, error, log)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .and_then(|mut insert| {
                    insert.execute(params![
                        id,
                        attempt,
                        started as i64,
                        duration_us,
                        ended.as_str(),
                        error,
                        log
                    ])
                })
                .map_err(sql("cannot record an attempt's outcome"))?;
        }
        Ok(())
    }

    /// Every pending delivery, soonest first: what a restarted sandbox delivers.
    pub fn pending(&self) -> Result<Vec<Delivery>> {
        self.query(
            &format!("{COLUMNS}, e.body {FROM} WHERE d.state = 'pending' ORDER BY d.due, d.id"),
            [],
            row,
        )
    }

    /// The most recent deliveries (at most `limit`) that `filter` selects, newest first. Their
    /// payloads are carried as far as a listing carries them (see
    /// [`eventfn_core::sandbox::MAX_LISTED_PAYLOADS_BYTES`]); the others have an empty `body`.
    pub fn list(&self, filter: Filter, limit: usize) -> Result<Vec<Delivery>> {
        let condition = match filter {
            Filter::All => "1",
            Filter::Failed => "d.error IS NOT NULL AND d.state != 'done'",
            Filter::Dead => "d.state = 'dead'",
        };
        let mut budget = Budget::new();
        self.query(
            &format!("{COLUMNS}, e.body {FROM} WHERE {condition} ORDER BY d.id DESC LIMIT ?1"),
            [limit as i64],
            |r| budget.row(r),
        )
    }

    /// Delivery `id`, if there is one.
    pub fn get(&self, id: i64) -> Result<Option<Delivery>> {
        self.db
            .query_row(
                &format!("{COLUMNS}, e.body {FROM} WHERE d.id = ?1"),
                [id],
                row,
            )
            .optional()
            .map_err(sql("cannot read a delivery"))
    }

    /// Delivery `id` without its payload (its `body` empty), if there is one: what a follower of
    /// the sandbox is told of.
    pub fn get_without_body(&self, id: i64) -> Result<Option<Delivery>> {
        self.db
            .prepare_cached(&format!("{COLUMNS} {FROM} WHERE d.id = ?1"))
            .and_then(|mut get| get.query_row([id], row_without_body).optional())
            .map_err(sql("cannot read a delivery"))
    }

    /// Delivery `id` in full, if there is one: its attempts and the deliveries of what its
    /// handler published, each bounded ([`MAX_ATTEMPTS`], [`MAX_PUBLISHED`]).
    pub fn detail(&self, id: i64) -> Result<Option<Detail>> {
        let Some(delivery) = self.get(id)? else {
            return Ok(None);
        };
        let count = |query: &str| -> Result<u64> {
            self.db
                .query_row(query, [id], |r| r.get::<_, i64>(0))
                .map(|n| n as u64)
                .map_err(sql("cannot count"))
        };
        let mut attempts = self.query(
            "SELECT attempt, started, duration_us, ended, error, log FROM attempts
             WHERE delivery = ?1 ORDER BY id DESC LIMIT ?2",
            params![id, MAX_ATTEMPTS as i64],
            attempt_row,
        )?;
        attempts.reverse();
        let all_attempts = count("SELECT count(*) FROM attempts WHERE delivery = ?1")?;
        // An attempt enters the history when it ends: one counted and not ended is running
        // (begun at its due time at the earliest; when exactly is not kept).
        if delivery.state == State::Pending
            && delivery.attempts > 0
            && attempts.last().map(|a| a.attempt) != Some(delivery.attempts)
        {
            attempts.push(Attempt {
                attempt: delivery.attempts,
                started: delivery.due,
                duration_us: None,
                ended: Ended::Running,
                error: None,
                log: None,
            });
        }
        let mut budget = Budget::new();
        let published = self.query(
            &format!("{COLUMNS}, e.body {FROM} WHERE e.published_by = ?1 ORDER BY d.id LIMIT ?2"),
            params![id, MAX_PUBLISHED as i64],
            |r| budget.row(r),
        )?;
        let all_published = count(&format!("SELECT count(*) {FROM} WHERE e.published_by = ?1"))?;
        Ok(Some(Detail {
            delivery,
            earlier_attempts: all_attempts.saturating_sub(attempts.len() as u64),
            attempts,
            more_published: all_published.saturating_sub(published.len() as u64),
            published,
        }))
    }

    /// Makes dead delivery `id` pending again, due at `now`, with its attempts counted anew;
    /// returns it, or (inside) why not: there is no such delivery, or it is not dead. The outer
    /// error is the store's own failure.
    pub fn replay(&mut self, id: i64, now: u64) -> Result<std::result::Result<Delivery, String>> {
        let Some(delivery) = self.get(id)? else {
            return Ok(Err(no_delivery(id)));
        };
        if delivery.state != State::Dead {
            return Ok(Err(format!(
                "delivery {id} ({} `{}` to `{}`) is {}, not dead: only dead letters are replayed",
                delivery.kind.as_str(),
                delivery.name,
                delivery.handler,
                delivery.state.as_str()
            )));
        }
        self.db
            .execute(
                "UPDATE deliveries SET state = 'pending', attempts = 0, due = ?2 WHERE id = ?1",
                params![id, now as i64],
            )
            .map_err(sql("cannot replay a delivery"))?;
        Ok(Ok(Delivery {
            state: State::Pending,
            attempts: 0,
            due: now,
            ..delivery
        }))
    }

    /// Makes every dead delivery pending again, due at `now`, with its attempts counted anew;
    /// returns them.
    pub fn replay_all(&mut self, now: u64) -> Result<Vec<Delivery>> {
        let dead = self.query(
            &format!("{COLUMNS}, e.body {FROM} WHERE d.state = 'dead' ORDER BY d.id"),
            [],
            row,
        )?;
        self.db
            .execute(
                "UPDATE deliveries SET state = 'pending', attempts = 0, due = ?1
                 WHERE state = 'dead'",
                [now as i64],
            )
            .map_err(sql("cannot replay the dead letters"))?;
        Ok(dead
            .into_iter()
            .map(|delivery| Delivery {
                state: State::Pending,
                attempts: 0,
                due: now,
                ..delivery
            })
            .collect())
    }

    /// Removes dead delivery `id` (or, for `None`, every dead delivery) with its attempts, and
    /// the events no delivery is left of; returns how many deliveries went, or (inside) why not:
    /// there is no such delivery, or it is not dead. The outer error is the store's own failure.
    pub fn purge(&mut self, id: Option<i64>) -> Result<std::result::Result<u64, String>> {
        if let Some(id) = id {
            let Some(delivery) = self.get(id)? else {
                return Ok(Err(no_delivery(id)));
            };
            if delivery.state != State::Dead {
                return Ok(Err(format!(
                    "delivery {id} ({} `{}` to `{}`) is {}, not dead: only dead letters are \
                     purged",
                    delivery.kind.as_str(),
                    delivery.name,
                    delivery.handler,
                    delivery.state.as_str()
                )));
            }
        }
        let dead = self.query(
            "SELECT id, event FROM deliveries WHERE state = 'dead' AND (?1 IS NULL OR id = ?1)",
            [id],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
        )?;
        let purge = |db: &Connection| -> rusqlite::Result<()> {
            let mut attempts = db.prepare_cached("DELETE FROM attempts WHERE delivery = ?1")?;
            // What it published stays, no longer pointing at it.
            let mut published =
                db.prepare_cached("UPDATE events SET published_by = NULL WHERE published_by = ?1")?;
            let mut delivery = db.prepare_cached("DELETE FROM deliveries WHERE id = ?1")?;
            // An event goes with its last delivery (filtered ones count: they are its history).
            let mut event = db.prepare_cached(
                "DELETE FROM events WHERE id = ?1
                 AND NOT EXISTS (SELECT 1 FROM deliveries WHERE event = ?1)",
            )?;
            for (id, of) in &dead {
                attempts.execute([id])?;
                published.execute([id])?;
                delivery.execute([id])?;
                event.execute([of])?;
            }
            Ok(())
        };
        purge(&self.db).map_err(sql("cannot purge the dead letters"))?;
        let count = dead.len();
        Ok(Ok(count as u64))
    }

    /// Per handler (its Rust path), its pending deliveries and its dead letters.
    pub fn counts(&self) -> Result<Vec<(String, u64, u64)>> {
        self.query(
            "SELECT handler, count(*), 0 FROM deliveries WHERE state = 'pending' GROUP BY handler
             UNION ALL
             SELECT handler, 0, count(*) FROM deliveries WHERE state = 'dead' GROUP BY handler",
            [],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get::<_, i64>(1)? as u64,
                    r.get::<_, i64>(2)? as u64,
                ))
            },
        )
    }

    fn query<T>(
        &self,
        query: &str,
        args: impl rusqlite::Params,
        read: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>> {
        let mut statement = self
            .db
            .prepare_cached(query)
            .map_err(sql("cannot prepare a query"))?;
        let rows = statement
            .query_map(args, read)
            .map_err(sql("cannot read deliveries"))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(sql("cannot read deliveries"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signup<'a>(handlers: &'a [&'a str], delay: u64) -> NewEvent<'a> {
        NewEvent {
            kind: Kind::Event,
            name: "account-signup",
            body: r#"{"user":"u1"}"#,
            time: 1_000,
            delay,
            handlers,
            filtered: &[],
            published_by: None,
        }
    }

    #[test]
    fn each_subscriber_gets_a_delivery_of_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("sandbox.db")).unwrap();
        let stored = store
            .publish_all(&[signup(&["app::welcome", "app::audit"], 500)])
            .unwrap();
        let (event, deliveries) = &stored[0];
        assert_eq!(deliveries.len(), 2);
        assert!(
            deliveries
                .iter()
                .all(|d| d.event == *event && d.due == 1_500)
        );
        assert_eq!(store.pending().unwrap(), *deliveries);

        // One fails and is retried, the other is done: only the failure stays pending.
        let (welcome, audit) = (&deliveries[0], &deliveries[1]);
        store
            .finish(
                welcome.id,
                1,
                None,
                Some(3),
                &Outcome::Retry {
                    due: 9_000,
                    error: "boom".into(),
                },
                None,
            )
            .unwrap();
        store
            .finish(audit.id, 1, None, Some(2), &Outcome::Done, None)
            .unwrap();
        let pending = store.pending().unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(
            (
                pending[0].id,
                pending[0].attempts,
                pending[0].due,
                pending[0].error.as_deref()
            ),
            (welcome.id, 1, 9_000, Some("boom"))
        );
        assert_eq!(store.list(Filter::Failed, 10).unwrap().len(), 1);
        assert_eq!(store.list(Filter::Dead, 10).unwrap().len(), 0);
        assert_eq!(store.list(Filter::All, 10).unwrap().len(), 2);
    }

    #[test]
    fn dead_letters_are_listed_and_replayed_and_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join("sandbox.db");
        let id = {
            let mut store = Store::open(&path).unwrap();
            let stored = store.publish_all(&[signup(&["app::welcome"], 0)]).unwrap();
            let id = stored[0].1[0].id;
            store
                .finish(
                    id,
                    3,
                    None,
                    Some(7),
                    &Outcome::Dead {
                        error: "still broken".into(),
                    },
                    None,
                )
                .unwrap();
            let error = store.replay(stored[0].1[0].id + 1, 5).unwrap().unwrap_err();
            assert_eq!(
                error,
                format!(
                    "there is no delivery {} in the sandbox: `cargo eventfn events` lists its \
                     deliveries, with their ids",
                    id + 1
                )
            );
            id
        };
        let mut store = Store::open(&path).unwrap();
        let dead = store.list(Filter::Dead, 10).unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!(
            (
                dead[0].attempts,
                dead[0].duration_us,
                dead[0].error.as_deref()
            ),
            (3, Some(7), Some("still broken"))
        );
        let replayed = store.replay(id, 20_000).unwrap().unwrap();
        assert_eq!(
            (replayed.state, replayed.attempts, replayed.due),
            (State::Pending, 0, 20_000)
        );
        assert_eq!(store.pending().unwrap(), vec![replayed]);
        let error = store.replay(id, 20_000).unwrap().unwrap_err();
        assert!(error.contains("is pending, not dead"), "{error}");
    }

    #[test]
    fn a_value_the_store_does_not_know_is_an_error_not_a_guess() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("sandbox.db")).unwrap();
        store.publish_all(&[signup(&["a"], 0)]).unwrap();
        store
            .db
            .execute("UPDATE deliveries SET state = 'archived'", [])
            .unwrap();
        let error = store.list(Filter::All, 10).unwrap_err();
        assert!(
            error.contains("unknown value `archived` in column 8 of the sandbox store"),
            "{error}"
        );
    }

    #[test]
    fn one_sandbox_per_store() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sandbox.db");
        let mut first = Store::open(&path).unwrap();
        first.publish_all(&[signup(&["a"], 0)]).unwrap();
        let error = Store::open(&path).err().unwrap();
        assert!(
            error.contains("another sandbox is using the store at"),
            "{error}"
        );
        drop(first);
        assert_eq!(Store::open(&path).unwrap().pending().unwrap().len(), 1);
    }

    #[test]
    fn commits_leave_checkpoints_to_the_checkpointers_thread() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sandbox.db");
        let mut store = Store::open(&path).unwrap();
        let body = "x".repeat(4_000);
        let events: Vec<NewEvent<'_>> = (0..2_000)
            .map(|_| NewEvent {
                body: &body,
                ..signup(&["a"], 0)
            })
            .collect();
        // 8 MB of log in one commit: past SQLite's mark of 1,000 pages, where the commit itself
        // would have copied the log into the database.
        store.publish_all(&events).unwrap();
        let size = |file: &str| std::fs::metadata(dir.path().join(file)).unwrap().len();
        assert!(size("sandbox.db-wal") > 8_000_000);
        assert!(size("sandbox.db") < 1_000_000, "{}", size("sandbox.db"));
        let started = std::time::Instant::now();
        while size("sandbox.db") < 8_000_000 {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "no checkpoint after {:?}",
                started.elapsed()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(store);
        assert_eq!(Store::open(&path).unwrap().pending().unwrap().len(), 2_000);
    }

    #[test]
    fn a_started_attempt_stays_counted() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("sandbox.db")).unwrap();
        let stored = store.publish_all(&[signup(&["a"], 0)]).unwrap();
        let id = stored[0].1[0].id;
        store.start(id, 1).unwrap();
        assert_eq!(store.pending().unwrap()[0].attempts, 1);
        store
            .finish(id, 1, Some(5_000), Some(1), &Outcome::Done, None)
            .unwrap();
        store.start(id, 2).unwrap();
        assert_eq!(
            store.get(id).unwrap().unwrap().attempts,
            1,
            "done stays done"
        );
    }

    #[test]
    fn dead_letters_are_counted_replayed_all_at_once_and_purged() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("sandbox.db")).unwrap();
        let dead = Outcome::Dead {
            error: "gone".into(),
        };
        // Event 1 to a and b, event 2 to a: a's two deliveries die, b's is pending.
        let first = store.publish_all(&[signup(&["a", "b"], 0)]).unwrap();
        let second = store.publish_all(&[signup(&["a"], 0)]).unwrap();
        let (a1, b1, a2) = (first[0].1[0].id, first[0].1[1].id, second[0].1[0].id);
        for id in [a1, a2] {
            store.start(id, 1).unwrap();
            store
                .finish(id, 1, Some(1_000), Some(1), &dead, Some("WARN x\n"))
                .unwrap();
        }
        let mut counts = store.counts().unwrap();
        counts.sort();
        assert_eq!(
            counts,
            [("a".to_owned(), 0, 2), ("b".to_owned(), 1, 0)],
            "pending and dead, per handler"
        );

        // Only dead letters are purged, and a delivery that is not is named.
        let refused = store.purge(Some(b1)).unwrap().unwrap_err();
        assert!(refused.contains("is pending, not dead"), "{refused}");
        assert_eq!(
            store.purge(Some(999)).unwrap().unwrap_err(),
            no_delivery(999)
        );
        assert_eq!(store.purge(Some(a2)).unwrap(), Ok(1));
        assert_eq!(store.get(a2).unwrap(), None);
        // Its event had no other delivery: it went with it; event 1 stays for b.
        let events: i64 = store
            .db
            .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
            .unwrap();
        assert_eq!(events, 1);

        let replayed = store.replay_all(5_000).unwrap();
        assert_eq!(replayed.len(), 1);
        assert_eq!(
            (
                replayed[0].id,
                replayed[0].state,
                replayed[0].attempts,
                replayed[0].due
            ),
            (a1, State::Pending, 0, 5_000)
        );
        assert!(store.replay_all(6_000).unwrap().is_empty());
        assert_eq!(store.get(a1).unwrap().unwrap().state, State::Pending);

        // Every dead letter at once, attempts and all.
        store.start(a1, 1).unwrap();
        store
            .finish(a1, 1, Some(7_000), Some(1), &dead, None)
            .unwrap();
        assert_eq!(store.purge(None).unwrap(), Ok(1));
        assert_eq!(store.list(Filter::Dead, 10).unwrap(), []);
        let attempts: i64 = store
            .db
            .query_row(
                "SELECT count(*) FROM attempts WHERE delivery = ?1",
                [a1],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(attempts, 0);
        assert_eq!(store.get(b1).unwrap().unwrap().state, State::Pending);
    }

    #[test]
    fn a_store_of_layout_1_gains_the_attempts_logs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sandbox.db");
        let id = {
            let mut store = Store::open(&path).unwrap();
            let id = store.publish_all(&[signup(&["a"], 0)]).unwrap()[0].1[0].id;
            store.start(id, 1).unwrap();
            store
                .finish(id, 1, Some(1_000), Some(3), &Outcome::Done, None)
                .unwrap();
            id
        };
        // As layout 1 had it.
        Connection::open(&path)
            .unwrap()
            .execute_batch(
                "ALTER TABLE attempts DROP COLUMN log; DROP INDEX deliveries_dead;
                 PRAGMA user_version = 1;",
            )
            .unwrap();
        let mut store = Store::open(&path).unwrap();
        assert_eq!(store.detail(id).unwrap().unwrap().attempts[0].log, None);
        let next = store.publish_all(&[signup(&["a"], 0)]).unwrap()[0].1[0].id;
        store.start(next, 1).unwrap();
        store
            .finish(
                next,
                1,
                Some(2_000),
                Some(3),
                &Outcome::Done,
                Some("INFO hi\n"),
            )
            .unwrap();
        assert_eq!(
            store.detail(next).unwrap().unwrap().attempts[0]
                .log
                .as_deref(),
            Some("INFO hi\n")
        );
        let layout: i64 = store
            .db
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(layout, LAYOUT);
    }

    #[test]
    fn pending_deliveries_come_soonest_first() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("sandbox.db")).unwrap();
        store
            .publish_all(&[signup(&["a"], 900), signup(&["b"], 0), signup(&["c"], 300)])
            .unwrap();
        let order: Vec<String> = store
            .pending()
            .unwrap()
            .into_iter()
            .map(|d| d.handler)
            .collect();
        assert_eq!(order, ["b", "c", "a"]);
    }

    #[test]
    fn every_attempt_is_kept_with_its_time_duration_and_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sandbox.db");
        let id = {
            let mut store = Store::open(&path).unwrap();
            let stored = store.publish_all(&[signup(&["a"], 0)]).unwrap();
            let id = stored[0].1[0].id;
            store.start(id, 1).unwrap();
            let retry = Outcome::Retry {
                due: 11_000,
                error: "boom".into(),
            };
            store
                .finish(
                    id,
                    1,
                    Some(10_000),
                    Some(420),
                    &retry,
                    Some("INFO sending\n"),
                )
                .unwrap();
            // The second attempt never finishes: the sandbox stops during it.
            store.start(id, 2).unwrap();
            let detail = store.detail(id).unwrap().unwrap();
            assert_eq!(detail.attempts[1].ended, Ended::Running);
            id
        };
        let mut store = Store::open(&path).unwrap();
        // As the sandbox does at its start: the attempt it stopped during is kept as stopped.
        store.count_begun(&[]).unwrap();
        store.start(id, 3).unwrap();
        let dead = Outcome::Dead {
            error: "still".into(),
        };
        store
            .finish(id, 3, Some(12_000), Some(2_500), &dead, None)
            .unwrap();
        let detail = store.detail(id).unwrap().unwrap();
        assert_eq!(
            detail.attempts,
            [
                Attempt {
                    attempt: 1,
                    started: 10_000,
                    duration_us: Some(420),
                    ended: Ended::Retry,
                    error: Some("boom".into()),
                    log: Some("INFO sending\n".into()),
                },
                Attempt {
                    attempt: 2,
                    started: 11_000,
                    duration_us: None,
                    ended: Ended::Stopped,
                    error: None,
                    log: None,
                },
                Attempt {
                    attempt: 3,
                    started: 12_000,
                    duration_us: Some(2_500),
                    ended: Ended::Dead,
                    error: Some("still".into()),
                    log: None,
                },
            ]
        );
        assert_eq!(detail.earlier_attempts, 0);
        assert_eq!(
            (detail.delivery.state, detail.delivery.duration_us),
            (State::Dead, Some(2_500))
        );
        assert_eq!(detail.delivery.body, r#"{"user":"u1"}"#);
        // A replay counts anew, and the history goes on.
        store.replay(id, 13_000).unwrap().unwrap();
        store.start(id, 1).unwrap();
        store
            .finish(id, 1, Some(13_000), Some(9), &Outcome::Done, None)
            .unwrap();
        let detail = store.detail(id).unwrap().unwrap();
        let attempts: Vec<(u32, Ended)> = detail
            .attempts
            .iter()
            .map(|a| (a.attempt, a.ended))
            .collect();
        assert_eq!(
            attempts,
            [
                (1, Ended::Retry),
                (2, Ended::Stopped),
                (3, Ended::Dead),
                (1, Ended::Done)
            ]
        );
        assert_eq!(store.detail(id + 1).unwrap(), None);
    }

    #[test]
    fn what_a_handler_published_is_found_from_its_delivery() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("sandbox.db")).unwrap();
        let stored = store.publish_all(&[signup(&["a"], 0)]).unwrap();
        let parent = stored[0].1[0].id;
        let child = NewEvent {
            name: "check-email",
            published_by: Some(parent),
            ..signup(&["b", "c"], 0)
        };
        let children = store.publish_all(&[child.clone(), child]).unwrap();
        let detail = store.detail(parent).unwrap().unwrap();
        let published: Vec<(i64, &str, Option<i64>)> = detail
            .published
            .iter()
            .map(|d| (d.event, d.handler.as_str(), d.published_by))
            .collect();
        let (first, second) = (children[0].0, children[1].0);
        assert_eq!(
            published,
            [
                (first, "b", Some(parent)),
                (first, "c", Some(parent)),
                (second, "b", Some(parent)),
                (second, "c", Some(parent))
            ]
        );
        assert_eq!(detail.more_published, 0);
        assert_eq!(detail.delivery.published_by, None);
        let child = store.get(children[0].1[0].id).unwrap().unwrap();
        assert_eq!(child.published_by, Some(parent));
        assert!(
            store
                .detail(child.id)
                .unwrap()
                .unwrap()
                .published
                .is_empty()
        );
    }

    #[test]
    fn a_listing_carries_small_payloads_only_and_within_its_budget() {
        use eventfn_core::sandbox::{MAX_LISTED_PAYLOAD_BYTES, MAX_LISTED_PAYLOADS_BYTES};
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("sandbox.db")).unwrap();
        let big = format!("\"{}\"", "x".repeat(MAX_LISTED_PAYLOAD_BYTES));
        let fits = format!("\"{}\"", "y".repeat(MAX_LISTED_PAYLOAD_BYTES - 2));
        let event = |body| NewEvent {
            body,
            ..signup(&["a"], 0)
        };
        store.publish_all(&[event(&big)]).unwrap();
        let count = MAX_LISTED_PAYLOADS_BYTES / fits.len() + 2;
        let many: Vec<NewEvent<'_>> = (0..count).map(|_| event(&fits)).collect();
        store.publish_all(&many).unwrap();
        let listed = store.list(Filter::All, 10_000).unwrap();
        assert_eq!(listed.len(), count + 1);
        // Newest first: as many as the budget takes, then none.
        let carried = listed.iter().filter(|d| d.body == fits).count();
        assert_eq!(carried, MAX_LISTED_PAYLOADS_BYTES / fits.len());
        assert!(listed[..carried].iter().all(|d| d.body == fits));
        assert!(listed[carried..].iter().all(|d| d.body.is_empty()));
        let oldest = listed.last().unwrap();
        assert_eq!(oldest.size, big.len());
        // Shown alone, it is whole.
        assert_eq!(store.get(oldest.id).unwrap().unwrap().body, big);
        assert_eq!(store.detail(oldest.id).unwrap().unwrap().delivery.body, big);
    }

    #[test]
    fn a_store_of_the_first_layout_is_brought_up_to_date_and_a_newer_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sandbox.db");
        {
            let db = Connection::open(&path).unwrap();
            db.execute_batch(
                "CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT NOT NULL,
                     name TEXT NOT NULL, body TEXT NOT NULL, time INTEGER NOT NULL,
                     delay INTEGER NOT NULL);
                 CREATE TABLE deliveries (id INTEGER PRIMARY KEY,
                     event INTEGER NOT NULL REFERENCES events (id), handler TEXT NOT NULL,
                     state TEXT NOT NULL, attempts INTEGER NOT NULL, due INTEGER NOT NULL,
                     duration INTEGER, error TEXT);
                 CREATE INDEX deliveries_pending ON deliveries (due) WHERE state = 'pending';
                 CREATE INDEX deliveries_failed ON deliveries (id) WHERE error IS NOT NULL;
                 INSERT INTO events VALUES (1, 'event', 'e', '1', 1000, 0);
                 INSERT INTO deliveries VALUES (1, 1, 'a', 'dead', 3, 1000, 7, 'broken');
                 INSERT INTO deliveries VALUES (2, 1, 'b', 'pending', 0, 1000, NULL, NULL);",
            )
            .unwrap();
        }
        let mut store = Store::open(&path).unwrap();
        let dead = store.get(1).unwrap().unwrap();
        assert_eq!(
            (dead.duration_us, dead.error.as_deref(), dead.published_by),
            (Some(7_000), Some("broken"), None)
        );
        assert!(store.detail(1).unwrap().unwrap().attempts.is_empty());
        assert_eq!(store.pending().unwrap().len(), 1);
        // It works as a new one does.
        store.start(2, 1).unwrap();
        store
            .finish(2, 1, Some(2_000), Some(5), &Outcome::Done, None)
            .unwrap();
        assert_eq!(store.detail(2).unwrap().unwrap().attempts.len(), 1);
        drop(store);
        // Opened again: migrated once only.
        assert_eq!(
            Store::open(&path)
                .unwrap()
                .get(1)
                .unwrap()
                .unwrap()
                .duration_us,
            Some(7_000)
        );

        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", 3)
            .unwrap();
        let error = Store::open(&path).err().unwrap();
        assert!(
            error.contains("has layout 3, written by a newer eventfn")
                && error.ends_with("`cargo eventfn dev --reset`"),
            "{error}"
        );
    }
}
