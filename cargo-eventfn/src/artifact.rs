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

/// What rustc's dep-info file (`--emit=dep-info`, the `.d` cargo keeps beside each crate's
/// outputs in `deps/`) says of a crate: the files it wrote (the `.d` itself, the rlib or rmeta
/// of a library, a binary's executable) and the source files it was compiled from, as rustc was
/// given them (relative to the directory cargo ran it in, which `file!()` is relative to too).
#[derive(Debug, PartialEq, Eq)]
pub struct DepInfo {
    pub outputs: Vec<String>,
    pub sources: Vec<String>,
}

impl DepInfo {
    /// Whether the crate was compiled as a library (it wrote an rlib or an rmeta).
    pub fn is_lib(&self) -> bool {
        self.outputs
            .iter()
            .any(|o| o.ends_with(".rlib") || o.ends_with(".rmeta"))
    }
}

/// Reads rustc's dep-info: a Makefile rule `OUTPUT: SOURCE SOURCE...` for each output, then an
/// empty rule for each source, then `# env-dep:` comments; rustc escapes a space in a source's
/// path as `\ ` and nothing else. Written here rather than taken from a crate: that is the whole
/// format, and the crates that read it are alpha releases (`depinfo`) or bring a lexer generator
/// (`depfile`). `None` when no rule has sources.
pub fn dep_info(text: &str) -> Option<DepInfo> {
    let mut outputs = Vec::new();
    let mut sources = None;
    for line in text.lines() {
        if line.starts_with('#') {
            continue; // `# env-dep:NAME=VALUE`, whose value may hold anything
        }
        // A colon followed by a space or the line's end ends the outputs: a Windows path's `C:\`
        // is followed by neither.
        let bytes = line.as_bytes();
        let Some(colon) = (0..bytes.len())
            .find(|&i| bytes[i] == b':' && (i + 1 == bytes.len() || bytes[i + 1] == b' '))
        else {
            continue; // a blank line between rules
        };
        let prerequisites = make_words(&line[colon + 1..]);
        if prerequisites.is_empty() {
            continue; // a source's own rule
        }
        outputs.extend(make_words(&line[..colon]));
        sources.get_or_insert(prerequisites);
    }
    Some(DepInfo {
        outputs,
        sources: sources?,
    })
}

/// The paths of a Makefile rule's side: separated by spaces, `\ ` a space within one.
fn make_words(side: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut chars = side.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&' ') => {
                word.push(' ');
                chars.next();
            }
            ' ' => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
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
    fn dep_info_gives_a_crates_outputs_and_sources() {
        // As rustc writes it for a library (`deps/welcome-1f.d`).
        let lib = "/t/deps/welcome-1f.d: examples/welcome/src/lib.rs examples/my\\ app/a\\ b.rs \
                   Cargo.toml\n\n\
                   /t/deps/libwelcome-1f.rlib: examples/welcome/src/lib.rs examples/my\\ app/a\\ b.rs \
                   Cargo.toml\n\n\
                   examples/welcome/src/lib.rs:\nexamples/my\\ app/a\\ b.rs:\nCargo.toml:\n\n\
                   # env-dep:CARGO_PKG_NAME=welcome\n# env-dep:X=a: b\n";
        let read = dep_info(lib).unwrap();
        assert_eq!(
            read,
            DepInfo {
                outputs: vec![
                    "/t/deps/welcome-1f.d".to_owned(),
                    "/t/deps/libwelcome-1f.rlib".to_owned()
                ],
                sources: vec![
                    "examples/welcome/src/lib.rs".to_owned(),
                    "examples/my app/a b.rs".to_owned(),
                    "Cargo.toml".to_owned()
                ],
            }
        );
        assert!(read.is_lib());
        // A binary's; Windows paths, whose drive's colon is not the rule's.
        let bin = dep_info("C:\\t\\deps\\x-1.d: src\\main.rs\n\nC:\\t\\deps\\x-1.exe: src\\main.rs\n\nsrc\\main.rs:\n")
            .unwrap();
        assert_eq!(bin.outputs, ["C:\\t\\deps\\x-1.d", "C:\\t\\deps\\x-1.exe"]);
        assert_eq!(bin.sources, ["src\\main.rs"]);
        assert!(!bin.is_lib());
        // Text that is no dep-info.
        assert_eq!(dep_info(""), None);
        assert_eq!(dep_info("\n# env-dep:X\nno rule here\nsrc/lib.rs:\n"), None);
    }

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
