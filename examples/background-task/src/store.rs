//! The tasks and their status, one JSON file per task in a directory: `TASKS_DIR`, or
//! `eventfn-background-task` in the system's temporary directory.
//!
//! The sandbox runs the handlers in its own process and the HTTP front in another, so the store
//! is a directory both can reach. On AWS, Lambda's `/tmp` belongs to one function instance:
//! there the same three calls would read and write a DynamoDB table instead.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The directory of the store, when set.
pub const DIR_ENV: &str = "TASKS_DIR";

/// Where a task is. The order is the order a task goes through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Received,
    Processing,
    Complete,
}

/// A task as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    pub id: String,
    /// What the client asked to have done.
    pub background: String,
    pub status: Status,
    /// When the status last changed, in milliseconds since the Unix epoch.
    pub updated: u64,
}

/// The store: a directory of `<id>.json` files, each replaced whole (written aside, then
/// renamed), so a reader never sees half a task. A change (read, then write) holds the store's
/// lock, a file lock on `.lock` that the handlers in the sandbox and the front share, so two
/// deliveries of a task at once cannot undo each other's step.
#[derive(Debug, Clone)]
pub struct Tasks {
    dir: PathBuf,
}

impl Tasks {
    /// The store in `dir`, created if missing.
    pub fn open(dir: impl Into<PathBuf>) -> io::Result<Tasks> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot create the task store `{}`: {e}", dir.display()),
            )
        })?;
        Ok(Tasks { dir })
    }

    /// The store in `TASKS_DIR`, or in the system's temporary directory when it is not set.
    pub fn from_env() -> io::Result<Tasks> {
        match std::env::var_os(DIR_ENV) {
            Some(dir) if !dir.is_empty() => Tasks::open(dir),
            _ => Tasks::open(std::env::temp_dir().join("eventfn-background-task")),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Task `id`, if it has been received.
    pub fn get(&self, id: &str) -> io::Result<Option<Task>> {
        let path = self.path(id)?;
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(context(e, "read", &path)),
        };
        serde_json::from_str(&text).map(Some).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("task file `{}` is not a task: {e}", path.display()),
            )
        })
    }

    /// Stores task `id` as received, unless it already is: a second delivery of the same
    /// task changes nothing. Returns the task as stored.
    pub fn receive(&self, id: &str, background: &str) -> io::Result<Task> {
        let _locked = self.lock()?;
        if let Some(task) = self.get(id)? {
            return Ok(task);
        }
        let task = Task {
            id: id.to_owned(),
            background: background.to_owned(),
            status: Status::Received,
            updated: now_ms(),
        };
        self.put(&task)?;
        Ok(task)
    }

    /// Moves task `id` on to `to`, never back: a late or repeated step leaves a task that is
    /// further along as it is. Returns the task as stored; an error if it was never received.
    pub fn advance(&self, id: &str, to: Status) -> io::Result<Task> {
        let _locked = self.lock()?;
        let Some(mut task) = self.get(id)? else {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "task `{id}` is not in the store `{}`: it was never received",
                    self.dir.display()
                ),
            ));
        };
        if task.status < to {
            task.status = to;
            task.updated = now_ms();
            self.put(&task)?;
        }
        Ok(task)
    }

    /// The store's lock, held until the file returned is dropped (closing it releases it).
    fn lock(&self) -> io::Result<fs::File> {
        let path = self.dir.join(".lock");
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| context(e, "open the lock", &path))?;
        file.lock().map_err(|e| context(e, "lock", &path))?;
        Ok(file)
    }

    fn put(&self, task: &Task) -> io::Result<()> {
        let path = self.path(&task.id)?;
        // Unique per write, so that two writers never share the file they rename.
        static WRITES: AtomicU64 = AtomicU64::new(0);
        let n = WRITES.fetch_add(1, Ordering::Relaxed);
        let aside = path.with_extension(format!("json.{}-{n}", std::process::id()));
        let text = serde_json::to_vec_pretty(task).map_err(io::Error::other)?;
        fs::write(&aside, text).map_err(|e| context(e, "write", &aside))?;
        fs::rename(&aside, &path).map_err(|e| {
            let _ = fs::remove_file(&aside);
            context(e, "replace", &path)
        })
    }

    fn path(&self, id: &str) -> io::Result<PathBuf> {
        check_id(id)?;
        Ok(self.dir.join(format!("{id}.json")))
    }
}

/// A task id is 1 to 64 ASCII letters, digits, `-` and `_`: it names a file.
pub fn check_id(id: &str) -> io::Result<()> {
    let fits = (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if fits {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("`{id}` is not a task id: 1 to 64 ASCII letters, digits, `-` or `_`"),
        ))
    }
}

fn context(e: io::Error, doing: &str, path: &Path) -> io::Error {
    io::Error::new(
        e.kind(),
        format!("cannot {doing} task file `{}`: {e}", path.display()),
    )
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(name: &str) -> Tasks {
        let dir = std::env::temp_dir()
            .join("eventfn-background-task-unit")
            .join(format!("{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        Tasks::open(dir).unwrap()
    }

    #[test]
    fn a_task_moves_forward_only() {
        let tasks = store("forward");
        assert_eq!(tasks.get("t1").unwrap(), None);
        let received = tasks.receive("t1", "resize").unwrap();
        assert_eq!(received.status, Status::Received);
        // A second delivery keeps what is there.
        assert_eq!(tasks.receive("t1", "other").unwrap(), received);
        assert_eq!(
            tasks.advance("t1", Status::Complete).unwrap().status,
            Status::Complete
        );
        // A late `processing` does not take it back.
        assert_eq!(
            tasks.advance("t1", Status::Processing).unwrap().status,
            Status::Complete
        );
        assert_eq!(tasks.get("t1").unwrap().unwrap().background, "resize");
        let _ = fs::remove_dir_all(tasks.dir());
    }

    #[test]
    fn steps_at_once_never_move_a_task_back() {
        let tasks = store("at-once");
        tasks.receive("t2", "x").unwrap();
        std::thread::scope(|scope| {
            for i in 0..8 {
                let tasks = &tasks;
                scope.spawn(move || {
                    let to = if i % 2 == 0 {
                        Status::Complete
                    } else {
                        Status::Processing
                    };
                    for _ in 0..50 {
                        tasks.advance("t2", to).unwrap();
                        tasks.receive("t2", "y").unwrap();
                    }
                });
            }
        });
        let task = tasks.get("t2").unwrap().unwrap();
        assert_eq!(
            (task.status, task.background.as_str()),
            (Status::Complete, "x")
        );
        let _ = fs::remove_dir_all(tasks.dir());
    }

    #[test]
    fn bad_ids_and_unknown_tasks_are_errors_that_say_so() {
        let tasks = store("errors");
        let missing = tasks.advance("nope", Status::Processing).unwrap_err();
        assert!(
            missing
                .to_string()
                .contains("task `nope` is not in the store"),
            "{missing}"
        );
        for bad in ["", "../etc/passwd", "a b", &"x".repeat(65)] {
            let refused = tasks.get(bad).unwrap_err();
            assert_eq!(refused.kind(), io::ErrorKind::InvalidInput, "{bad}");
            assert!(
                refused.to_string().contains("is not a task id"),
                "{refused}"
            );
        }
        fs::write(tasks.dir().join("torn.json"), "{").unwrap();
        let torn = tasks.get("torn").unwrap_err().to_string();
        assert!(torn.contains("torn.json` is not a task"), "{torn}");
        let _ = fs::remove_dir_all(tasks.dir());
    }
}
