//! Reads registration records out of compiled files: the app's executable (any target, stripped
//! or not) and the rlibs of library crates that may declare handlers.

use std::path::Path;

use anyhow::{Context as _, Result, anyhow};
use eventfn_core::{Registration, SECTION};
use object::read::archive::ArchiveFile;
use object::{Object, ObjectSection};

/// The records in an executable or object file; empty when it has no eventfn section.
pub fn records_in_object(data: &[u8], path: &Path) -> Result<Vec<Registration>> {
    let file = object::File::parse(data).with_context(|| {
        format!(
            "`{}` is not an executable or object file this tool can read",
            path.display()
        )
    })?;
    records_in_file(&file, path)
}

fn records_in_file(file: &object::File<'_>, path: &Path) -> Result<Vec<Registration>> {
    let mut records = Vec::new();
    // Mach-O names the section `eventfn_manifest` in segment `__DATA`; ELF and PE by its name.
    for section in file.sections() {
        if section.name().ok() != Some(SECTION) {
            continue;
        }
        let bytes = section
            .uncompressed_data()
            .with_context(|| format!("cannot read section `{SECTION}` of `{}`", path.display()))?;
        records.extend(
            Registration::parse_section(&bytes)
                .map_err(|e| anyhow!("in `{}`: {e}", path.display()))?,
        );
    }
    Ok(records)
}

/// What an rlib holds.
pub enum LibRecords {
    /// Its object files were read: these are its records (maybe none).
    Read(Vec<Registration>),
    /// Some member is not a native object file (LLVM bitcode under LTO), so it cannot be told.
    Unreadable,
}

/// The records declared by the crate an rlib holds.
pub fn records_in_rlib(data: &[u8], path: &Path) -> Result<LibRecords> {
    let archive = ArchiveFile::parse(data)
        .with_context(|| format!("`{}` is not an rlib archive", path.display()))?;
    let mut records = Vec::new();
    for member in archive.members() {
        let member =
            member.with_context(|| format!("cannot read the members of `{}`", path.display()))?;
        let name = String::from_utf8_lossy(member.name());
        if !name.ends_with(".o") {
            continue; // lib.rmeta and the symbol table
        }
        let bytes = member
            .data(data)
            .with_context(|| format!("cannot read `{name}` in `{}`", path.display()))?;
        match object::File::parse(bytes) {
            Ok(file) => records.extend(records_in_file(&file, path)?),
            Err(_) => return Ok(LibRecords::Unreadable),
        }
    }
    Ok(LibRecords::Read(records))
}

/// The newest glibc symbol version an ELF executable needs (`GLIBC_2.34` is `(2, 34)`), read from
/// its dynamic string table; `None` for a static or non-ELF file.
pub fn required_glibc(data: &[u8]) -> Option<(u32, u32)> {
    let file = object::File::parse(data).ok()?;
    let dynstr = file.section_by_name(".dynstr")?.data().ok()?;
    dynstr
        .split(|&b| b == 0)
        .filter_map(|s| std::str::from_utf8(s).ok()?.strip_prefix("GLIBC_"))
        .filter_map(|v| {
            let (major, minor) = v.split_once('.')?;
            let minor = minor.split('.').next()?;
            Some((major.parse().ok()?, minor.parse().ok()?))
        })
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_glibc_this_test_needs() {
        let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let (major, minor) = required_glibc(&exe).expect("a dynamically linked test binary");
        assert_eq!(major, 2);
        assert!(minor >= 2, "GLIBC_2.{minor}");
        assert_eq!(required_glibc(b"not an executable"), None);
    }
}
