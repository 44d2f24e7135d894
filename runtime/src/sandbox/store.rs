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
//! failing handler is retried without re-running its siblings.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

use eventfn_core::Kind;

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
    /// The payload, as JSON.
    pub body: String,
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
    /// How long its last attempt took, in milliseconds.
    pub duration: Option<u64>,
    /// Why its last attempt failed.
    pub error: Option<String>,
}

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
    db: Connection,
}

type Result<T> = std::result::Result<T, String>;

fn sql(context: &str) -> impl Fn(rusqlite::Error) -> String + '_ {
    move |e| format!("sandbox store: {context}: {e}")
}

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS events (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        body TEXT NOT NULL,
        time INTEGER NOT NULL,
        delay INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS deliveries (
        id INTEGER PRIMARY KEY,
        event INTEGER NOT NULL REFERENCES events (id),
        handler TEXT NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        due INTEGER NOT NULL,
        duration INTEGER,
        error TEXT
    );
    CREATE INDEX IF NOT EXISTS deliveries_pending ON deliveries (due) WHERE state = 'pending';
    CREATE INDEX IF NOT EXISTS deliveries_failed ON deliveries (id) WHERE error IS NOT NULL;
";

const SELECT: &str = "
    SELECT d.id, d.event, e.kind, e.name, e.body, e.time, e.delay, d.handler, d.state,
           d.attempts, d.due, d.duration, d.error
    FROM deliveries d JOIN events e ON e.id = d.event";

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

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Delivery> {
    Ok(Delivery {
        id: r.get(0)?,
        event: r.get(1)?,
        kind: known(r, 2, Kind::parse)?,
        name: r.get(3)?,
        body: r.get(4)?,
        time: r.get::<_, i64>(5)? as u64,
        delay: r.get::<_, i64>(6)? as u64,
        handler: r.get(7)?,
        state: known(r, 8, State::parse)?,
        attempts: r.get(9)?,
        due: r.get::<_, i64>(10)? as u64,
        duration: r.get::<_, Option<i64>>(11)?.map(|d| d as u64),
        error: r.get(12)?,
    })
}

impl Store {
    /// Opens (or creates) the store at `path`.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("sandbox store: cannot create {}: {e}", dir.display()))?;
        }
        let db = Connection::open(path)
            .map_err(|e| format!("sandbox store: cannot open {}: {e}", path.display()))?;
        // One sandbox per store: the lock taken by the first write is held until the store is
        // closed (or its process dies), so a second sandbox on the same store cannot deliver its
        // pending events a second time.
        db.pragma_update(None, "locking_mode", "EXCLUSIVE")
            .map_err(sql("cannot set the locking mode"))?;
        db.busy_timeout(std::time::Duration::ZERO)
            .map_err(sql("cannot set the busy timeout"))?;
        db.execute_batch("BEGIN IMMEDIATE; COMMIT;").map_err(|e| {
            if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) {
                format!(
                    "another sandbox is using the store at {}: stop it, or give this one a store \
                     of its own (`cargo eventfn dev --store DIR`)",
                    path.display()
                )
            } else {
                format!("sandbox store: cannot open {}: {e}", path.display())
            }
        })?;
        db.pragma_update(None, "journal_mode", "WAL")
            .map_err(sql("cannot turn on write-ahead logging"))?;
        db.pragma_update(None, "synchronous", "NORMAL")
            .map_err(sql("cannot set synchronous mode"))?;
        db.execute_batch(SCHEMA)
            .map_err(sql("cannot create the tables"))?;
        Ok(Store { db })
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
                    "INSERT INTO events (kind, name, body, time, delay) VALUES (?1, ?2, ?3, ?4, ?5)",
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
                        event.delay as i64
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
                        time: event.time,
                        delay: event.delay,
                        handler: (*handler).to_owned(),
                        state: State::Pending,
                        attempts: 0,
                        due,
                        duration: None,
                        error: None,
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

    /// Counts attempt `attempt` of pending delivery `id` as begun: if the sandbox stops during
    /// it, the attempt stays spent.
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
    /// (the same due time), never lowering a count.
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
            Ok(())
        })
    }

    /// Records what became of attempt `attempt` of delivery `id`, which took `duration` ms.
    pub fn finish(
        &mut self,
        id: i64,
        attempt: u32,
        duration: u64,
        outcome: &Outcome,
    ) -> Result<()> {
        let (state, due, error) = match outcome {
            Outcome::Done => (State::Done, None, None),
            Outcome::Retry { due, error } => (State::Pending, Some(*due), Some(error.as_str())),
            Outcome::Dead { error } => (State::Dead, None, Some(error.as_str())),
        };
        self.db
            .prepare_cached(
                "UPDATE deliveries SET state = ?2, attempts = ?3, duration = ?4, error = ?5,
                 due = COALESCE(?6, due) WHERE id = ?1",
            )
            .and_then(|mut update| {
                update.execute(params![
                    id,
                    state.as_str(),
                    attempt,
                    duration as i64,
                    error,
                    due.map(|d| d as i64)
                ])
            })
            .map_err(sql("cannot record a delivery's outcome"))?;
        Ok(())
    }

    /// Every pending delivery, soonest first: what a restarted sandbox delivers.
    pub fn pending(&self) -> Result<Vec<Delivery>> {
        self.query(
            &format!("{SELECT} WHERE d.state = 'pending' ORDER BY d.due, d.id"),
            [],
        )
    }

    /// The most recent deliveries (at most `limit`) that `filter` selects, newest first.
    pub fn list(&self, filter: Filter, limit: usize) -> Result<Vec<Delivery>> {
        let condition = match filter {
            Filter::All => "1",
            Filter::Failed => "d.error IS NOT NULL AND d.state != 'done'",
            Filter::Dead => "d.state = 'dead'",
        };
        self.query(
            &format!("{SELECT} WHERE {condition} ORDER BY d.id DESC LIMIT ?1"),
            [limit as i64],
        )
    }

    /// Delivery `id`, if there is one.
    pub fn get(&self, id: i64) -> Result<Option<Delivery>> {
        self.db
            .query_row(&format!("{SELECT} WHERE d.id = ?1"), [id], row)
            .optional()
            .map_err(sql("cannot read a delivery"))
    }

    /// Makes dead delivery `id` pending again, due at `now`, with its attempts counted anew;
    /// returns it, or (inside) why not: there is no such delivery, or it is not dead. The outer
    /// error is the store's own failure.
    pub fn replay(&mut self, id: i64, now: u64) -> Result<std::result::Result<Delivery, String>> {
        let Some(delivery) = self.get(id)? else {
            return Ok(Err(format!("there is no delivery {id} in the sandbox")));
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

    fn query(&self, query: &str, args: impl rusqlite::Params) -> Result<Vec<Delivery>> {
        let mut statement = self
            .db
            .prepare_cached(query)
            .map_err(sql("cannot prepare a query"))?;
        let rows = statement
            .query_map(args, row)
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
                3,
                &Outcome::Retry {
                    due: 9_000,
                    error: "boom".into(),
                },
            )
            .unwrap();
        store.finish(audit.id, 1, 2, &Outcome::Done).unwrap();
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
                    7,
                    &Outcome::Dead {
                        error: "still broken".into(),
                    },
                )
                .unwrap();
            let error = store.replay(stored[0].1[0].id + 1, 5).unwrap().unwrap_err();
            assert_eq!(
                error,
                format!("there is no delivery {} in the sandbox", id + 1)
            );
            id
        };
        let mut store = Store::open(&path).unwrap();
        let dead = store.list(Filter::Dead, 10).unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!(
            (dead[0].attempts, dead[0].duration, dead[0].error.as_deref()),
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
    fn a_started_attempt_stays_counted() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("sandbox.db")).unwrap();
        let stored = store.publish_all(&[signup(&["a"], 0)]).unwrap();
        let id = stored[0].1[0].id;
        store.start(id, 1).unwrap();
        assert_eq!(store.pending().unwrap()[0].attempts, 1);
        store.finish(id, 1, 1, &Outcome::Done).unwrap();
        store.start(id, 2).unwrap();
        assert_eq!(
            store.get(id).unwrap().unwrap().attempts,
            1,
            "done stays done"
        );
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
}
