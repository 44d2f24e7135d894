//! Attempts begun, on disk before their handler runs, at the cost of one `write(2)`.
//!
//! An attempt must be counted before its handler runs, so that a handler that takes the process
//! down (an abort, a stack overflow, the OOM killer) still spends its attempts and ends a dead
//! letter. Waiting for the store to commit each start would put a transaction between every
//! delivery and its handler; instead a worker appends the start here (a record of 20 bytes, in
//! one write to a file opened for appending, which the kernel keeps when the process dies, as it
//! keeps the store's write-ahead log) and tells the store without waiting. When the sandbox
//! starts again, the starts the store never committed are read back from here.
//!
//! A record is the delivery's id, the attempt, and the delivery's due time when it began: a
//! delivery's due time changes with each retry and each replay, so a record left from before a
//! replay (which counts attempts anew) cannot count against the delivery's new life. The file is
//! emptied whenever every start written to it is in the store.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The bytes of one record: id (i64), attempt (u32), due (u64), little-endian.
const RECORD: usize = 20;

/// An attempt begun: what the store must count if it did not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Begun {
    /// The delivery.
    pub id: i64,
    /// Its attempt, from 1.
    pub attempt: u32,
    /// The delivery's due time when the attempt began, in milliseconds since the epoch.
    pub due: u64,
}

/// The journal of a sandbox's store.
pub struct Journal {
    path: PathBuf,
    state: Mutex<State>,
}

struct State {
    file: File,
    /// Starts written here that the store has not committed yet.
    uncommitted: u64,
    /// Whether anything was written since the file was last emptied.
    written: bool,
}

impl Journal {
    /// Opens the journal at `path`, and reads the starts left in it by an earlier run (a record
    /// cut short by a crash is left out: its write never returned, so its handler never ran).
    pub fn open(path: &Path) -> Result<(Journal, Vec<Begun>), String> {
        let cannot = |what: &str, e: std::io::Error| {
            format!("sandbox store: cannot {what} {}: {e}", path.display())
        };
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(path)
            .map_err(|e| cannot("open", e))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(|e| cannot("read", e))?;
        let cut = bytes.len() % RECORD;
        if cut != 0 {
            // What a crash left of a record: gone, so that the next ones line up.
            bytes.truncate(bytes.len() - cut);
            file.set_len(bytes.len() as u64)
                .map_err(|e| cannot("repair", e))?;
        }
        let left = bytes
            .chunks_exact(RECORD)
            .map(|record| Begun {
                id: i64::from_le_bytes(record[0..8].try_into().unwrap_or_default()),
                attempt: u32::from_le_bytes(record[8..12].try_into().unwrap_or_default()),
                due: u64::from_le_bytes(record[12..20].try_into().unwrap_or_default()),
            })
            .collect();
        let journal = Journal {
            path: path.to_owned(),
            state: Mutex::new(State {
                file,
                uncommitted: 0,
                written: !bytes.is_empty(),
            }),
        };
        Ok((journal, left))
    }

    /// Writes that an attempt begins; when this returns, it survives the process being killed.
    pub fn begin(&self, begun: Begun) -> Result<(), String> {
        let mut record = [0u8; RECORD];
        record[0..8].copy_from_slice(&begun.id.to_le_bytes());
        record[8..12].copy_from_slice(&begun.attempt.to_le_bytes());
        record[12..20].copy_from_slice(&begun.due.to_le_bytes());
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        // One write of the whole record to a file opened for appending: records never interleave.
        state.file.write_all(&record).map_err(|e| {
            format!(
                "sandbox store: cannot write to {}: {e}",
                self.path.display()
            )
        })?;
        state.uncommitted += 1;
        state.written = true;
        Ok(())
    }

    /// Says that `count` starts written here are committed in the store; empties the file when
    /// none is left uncommitted.
    pub fn committed(&self, count: u64) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.uncommitted = state.uncommitted.saturating_sub(count);
        if state.uncommitted == 0 && state.written {
            // A failure leaves the records, which only say again what the store holds.
            if state.file.set_len(0).is_ok() {
                state.written = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn begun(id: i64, attempt: u32) -> Begun {
        Begun {
            id,
            attempt,
            due: 1_000 + id as u64,
        }
    }

    #[test]
    fn starts_are_read_back_until_the_store_has_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("attempts.journal");
        let (journal, left) = Journal::open(&path).unwrap();
        assert!(left.is_empty());
        journal.begin(begun(1, 1)).unwrap();
        journal.begin(begun(2, 3)).unwrap();
        drop(journal);
        // A crash: nothing said they were committed.
        let (journal, left) = Journal::open(&path).unwrap();
        assert_eq!(left, [begun(1, 1), begun(2, 3)]);
        journal.committed(0);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0, "emptied");
        journal.begin(begun(3, 1)).unwrap();
        journal.begin(begun(4, 1)).unwrap();
        journal.committed(1);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 2 * RECORD as u64);
        journal.committed(1);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
        journal.begin(begun(5, 2)).unwrap();
        drop(journal);
        assert_eq!(Journal::open(&path).unwrap().1, [begun(5, 2)]);
    }

    #[test]
    fn a_record_cut_short_by_a_crash_is_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("attempts.journal");
        let (journal, _) = Journal::open(&path).unwrap();
        journal.begin(begun(7, 1)).unwrap();
        drop(journal);
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(&[1, 2, 3]).unwrap();
        let (journal, left) = Journal::open(&path).unwrap();
        assert_eq!(left, [begun(7, 1)]);
        // The next record lines up after the last whole one.
        journal.begin(begun(8, 1)).unwrap();
        drop(journal);
        assert_eq!(Journal::open(&path).unwrap().1, [begun(7, 1), begun(8, 1)]);
    }
}
