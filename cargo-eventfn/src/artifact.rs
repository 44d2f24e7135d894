//! Reads registration records out of compiled files: the app's executable (any target, stripped
//! or not) and the rlibs of library crates that may declare handlers.

use std::path::Path;

use anyhow::{Context as _, Result, anyhow};
use eventfn_core::{Client, Registration, SECTION};
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

/// The SDK clients the code of an executable can reach, by the runtime's markers
/// ([`Client::EVENTBRIDGE_SECTION`], [`Client::SCHEDULER_SECTION`]): a Linux binary has the
/// section of each it can. SNS is told by the manifest, not here.
pub fn clients_used(data: &[u8], path: &Path) -> Result<Vec<Client>> {
    let file = object::File::parse(data).with_context(|| {
        format!(
            "`{}` is not an executable or object file this tool can read",
            path.display()
        )
    })?;
    let has = |name: &str| file.sections().any(|s| s.name().ok() == Some(name));
    Ok([
        (Client::EventBridge, Client::EVENTBRIDGE_SECTION),
        (Client::Scheduler, Client::SCHEDULER_SECTION),
    ]
    .into_iter()
    .filter(|(_, section)| has(section))
    .map(|(client, _)| client)
    .collect())
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

/// The executable without what only a debugger or a symbolizer reads: its DWARF sections
/// (`.debug_*`) and its static symbol table (`.symtab`, `.strtab`), as `strip` does. What runs
/// stays: code, data (panics' messages and their file:line locations are in `.rodata`), the
/// dynamic symbols the loader needs, and the registrations' section.
///
/// Written with object's ELF builder rather than by running `strip`, which a Mac or Windows host
/// building for Lambda does not have for ELF files.
pub fn strip(executable: &[u8], path: &Path) -> Result<Vec<u8>> {
    let mut builder = object::build::elf::Builder::read(executable)
        .with_context(|| format!("cannot read `{}` to strip it", path.display()))?;
    for section in builder.sections.iter_mut() {
        let name = section.name.as_slice();
        let debug = name.starts_with(b".debug_") || name.starts_with(b".zdebug_");
        let symbols = matches!(
            section.data,
            object::build::elf::SectionData::Symbol
                | object::build::elf::SectionData::SymbolSectionIndex
                | object::build::elf::SectionData::String
        );
        if debug || symbols {
            section.delete = true;
        }
    }
    for symbol in builder.symbols.iter_mut() {
        symbol.delete = true;
    }
    let mut stripped = Vec::new();
    builder
        .write(&mut stripped)
        .with_context(|| format!("cannot write `{}` stripped", path.display()))?;
    Ok(stripped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stripping_drops_debug_info_and_symbols_and_keeps_what_runs() {
        let path = std::env::current_exe().unwrap();
        let exe = std::fs::read(&path).unwrap();
        let stripped = strip(&exe, &path).unwrap();
        assert!(stripped.len() < exe.len());
        let before = object::File::parse(&*exe).unwrap();
        let after = object::File::parse(&*stripped).unwrap();
        assert!(after.section_by_name(".symtab").is_none());
        assert!(
            after
                .sections()
                .all(|s| !s.name().unwrap().starts_with(".debug_"))
        );
        // Code and data stay where they were (the builder lays the dynamic symbol tables out
        // anew, and the loader reads them wherever they are).
        for kept in [".text", ".rodata", ".data.rel.ro"] {
            let (a, b) = (
                before.section_by_name(kept).unwrap(),
                after.section_by_name(kept).unwrap(),
            );
            assert!(a.data().unwrap() == b.data().unwrap(), "{kept} changed");
            assert_eq!(a.address(), b.address(), "{kept}");
        }
        assert_eq!(before.entry(), after.entry());
        assert_eq!(required_glibc(&stripped), required_glibc(&exe));
        // Stripping what is stripped changes nothing more.
        assert_eq!(strip(&stripped, &path).unwrap().len(), stripped.len());
        // The stripped test binary still runs: listing its tests is running it.
        let copy = std::env::temp_dir().join(format!("eventfn-stripped-{}", std::process::id()));
        std::fs::write(&copy, &stripped).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let listed = std::process::Command::new(&copy)
            .args(["--list", "stripping_drops"])
            .output();
        let _ = std::fs::remove_file(&copy);
        let listed = listed.unwrap();
        assert!(listed.status.success());
        assert!(String::from_utf8_lossy(&listed.stdout).contains("stripping_drops_debug_info"));
        assert!(strip(b"not an executable", Path::new("x")).is_err());
    }

    #[test]
    fn reads_the_glibc_this_test_needs() {
        let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let (major, minor) = required_glibc(&exe).expect("a dynamically linked test binary");
        assert_eq!(major, 2);
        assert!(minor >= 2, "GLIBC_2.{minor}");
        assert_eq!(required_glibc(b"not an executable"), None);
    }
}
