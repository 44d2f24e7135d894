//! How the Lambda executable is built: with the host's own toolchain, or cross-compiled through
//! zig (`cargo-zigbuild`) with the target's glibc pinned, as cargo-lambda does.
//!
//! The host's toolchain makes a binary Lambda runs only on Linux, for the function's architecture,
//! with a glibc no newer than the runtime's: the linker takes the newest version of each glibc
//! symbol the host has, and C code compiled against newer headers (SQLite on glibc 2.38 calls
//! `__isoc23_strtol`) needs symbols the runtime lacks. zig links against the glibc version named
//! in the target (`x86_64-unknown-linux-gnu.2.34`), whatever the host.

use std::fmt;
use std::process::{Command, Stdio};
use std::str::FromStr;

use anyhow::{Result, bail};
use eventfn_core::manifest::Architecture;

/// The glibc of Lambda's `provided.al2023` runtime: a binary that needs a newer one does not start.
pub const LAMBDA_GLIBC: Glibc = Glibc {
    major: 2,
    minor: 34,
};
/// The oldest glibc Rust's standard library supports on `*-linux-gnu`.
pub const MIN_GLIBC: Glibc = Glibc {
    major: 2,
    minor: 17,
};

/// What to install for zig builds, as cargo-lambda says it.
pub const INSTALL_ZIG: &str = "`pip3 install ziglang cargo-zigbuild` (or `cargo install \
                               cargo-zigbuild` and zig from https://ziglang.org/download/)";

/// A glibc version, `2.34`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Glibc {
    pub major: u32,
    pub minor: u32,
}

impl fmt::Display for Glibc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl Glibc {
    /// `2.36`, or `2.36.1` read as `2.36`.
    fn parse(s: &str) -> Option<Glibc> {
        let (major, rest) = s.split_once('.')?;
        let minor = rest.split('.').next()?;
        Some(Glibc {
            major: major.parse().ok()?,
            minor: minor.parse().ok()?,
        })
    }
}

impl From<(u32, u32)> for Glibc {
    fn from((major, minor): (u32, u32)) -> Self {
        Glibc { major, minor }
    }
}

/// `--glibc`: a version between [`MIN_GLIBC`] and [`LAMBDA_GLIBC`].
impl FromStr for Glibc {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let Some(version) = Glibc::parse(s).filter(|_| s.matches('.').count() == 1) else {
            return Err(format!(
                "`{}` is not a glibc version: write it as `2.34`",
                eventfn_core::quote::excerpt(s)
            ));
        };
        if version > LAMBDA_GLIBC {
            return Err(format!(
                "glibc {version} is newer than Lambda's provided.al2023 runtime has \
                 ({LAMBDA_GLIBC}): a binary that needs it would not start there"
            ));
        }
        if version < MIN_GLIBC {
            return Err(format!(
                "glibc {version} is older than Rust's standard library supports ({MIN_GLIBC})"
            ));
        }
        Ok(version)
    }
}

/// `--zig` / `--no-zig`, or neither.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZigChoice {
    /// Zig when the host cannot build a binary Lambda runs, and it is installed.
    Auto,
    Always,
    Never,
}

/// How the build is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Toolchain {
    /// cargo with the host's compiler and linker.
    Native,
    /// `cargo-zigbuild`, zig compiling C and linking against the pinned glibc.
    Zig,
}

impl Toolchain {
    /// As `eventfn.json` records it: `native` or `zig`.
    pub fn as_str(self) -> &'static str {
        match self {
            Toolchain::Native => "native",
            Toolchain::Zig => "zig",
        }
    }
}

/// The machine `cargo eventfn build` runs on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Host {
    /// rustc's host triple, `x86_64-unknown-linux-gnu`.
    pub triple: String,
    /// The glibc this process runs with, on a GNU/Linux host.
    pub glibc: Option<Glibc>,
}

impl Host {
    pub fn new(triple: String) -> Self {
        Host {
            triple,
            glibc: running_glibc(),
        }
    }
}

/// The glibc this process is running with.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn running_glibc() -> Option<Glibc> {
    // SAFETY: gnu_get_libc_version takes nothing and returns a static NUL-terminated string.
    let version = unsafe { std::ffi::CStr::from_ptr(libc::gnu_get_libc_version()) };
    Glibc::parse(version.to_str().ok()?)
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn running_glibc() -> Option<Glibc> {
    None
}

/// How one Lambda build is made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub toolchain: Toolchain,
    /// The `--target` for cargo (with the glibc suffix for zig); `None` builds for the host.
    pub cargo_target: Option<String>,
    /// The newest glibc the bootstrap may need.
    pub glibc: Glibc,
    /// Why the build goes the way it does, when it is not the obvious way (shown to the user).
    pub note: Option<String>,
}

/// Chooses how to build for `architecture` on `host`. `zig` says whether cargo-zigbuild and zig
/// are installed (`Err` names what is missing); it is asked only when zig is a candidate.
pub fn plan(
    architecture: Architecture,
    choice: ZigChoice,
    glibc: Glibc,
    host: &Host,
    zig: impl FnOnce() -> Result<(), String>,
) -> Result<Plan> {
    let target = architecture.rust_target();
    let native_target = (host.triple != target).then(|| target.to_owned());
    let native = |note| Plan {
        toolchain: Toolchain::Native,
        cargo_target: native_target.clone(),
        glibc,
        note,
    };
    let zig_plan = |note| Plan {
        toolchain: Toolchain::Zig,
        cargo_target: Some(format!("{target}.{glibc}")),
        glibc,
        note,
    };
    let why_not_native = if host.triple != target {
        Some(format!("this host is `{}`", host.triple))
    } else {
        match host.glibc {
            Some(have) if have > glibc => Some(format!(
                "this host's glibc {have} is newer than the {glibc} the bootstrap may need"
            )),
            Some(_) => None,
            None => Some("cannot tell this host's glibc".to_owned()),
        }
    };
    match choice {
        ZigChoice::Never => Ok(native(None)),
        ZigChoice::Always => match zig() {
            Ok(()) => Ok(zig_plan(None)),
            Err(missing) => bail!(
                "`--zig` builds through cargo-zigbuild and zig, but {missing}: install them with \
                 {INSTALL_ZIG}"
            ),
        },
        ZigChoice::Auto => {
            let Some(why) = why_not_native else {
                return Ok(native(None));
            };
            match zig() {
                Ok(()) => Ok(zig_plan(Some(format!(
                    "building through zig with glibc {glibc} pinned: {why}"
                )))),
                // Same OS and architecture: what the host links may still run on Lambda, and
                // the bootstrap's glibc is checked after the build.
                Err(missing) if host.triple == target => Ok(native(Some(format!(
                    "{why}, and {missing}: building with the host's toolchain, then checking the \
                     glibc the bootstrap needs; for a build that does not depend on the host, \
                     install zig: {INSTALL_ZIG}"
                )))),
                Err(missing) => bail!(
                    "building for {} Lambda ({target}) on this host (`{}`) needs zig to \
                     cross-compile, but {missing}: install them with {INSTALL_ZIG}, or pass \
                     `--no-zig` to build with cargo and a linker for {target} that you configure",
                    architecture.as_str(),
                    host.triple
                ),
            }
        }
    }
}

/// Whether cargo-zigbuild and zig are installed: `Err` says which is missing.
///
/// zig is found as cargo-zigbuild finds it: `CARGO_ZIGBUILD_ZIG_PATH`, then `zig` on `PATH`, then
/// the `ziglang` Python package (`python3 -m ziglang`, the interpreter overridden by
/// `CARGO_ZIGBUILD_PYTHON_PATH`), which is what `pip install ziglang` gives.
pub fn zig_installed() -> Result<(), String> {
    let runs = |program: &std::ffi::OsStr, args: &[&str]| {
        Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !runs("cargo-zigbuild".as_ref(), &["--version"]) {
        return Err("`cargo-zigbuild` is not on PATH".to_owned());
    }
    let zig = std::env::var_os("CARGO_ZIGBUILD_ZIG_PATH");
    let python = std::env::var_os("CARGO_ZIGBUILD_PYTHON_PATH").unwrap_or_else(|| "python3".into());
    let found = match zig {
        Some(zig) => runs(&zig, &["version"]),
        None => runs("zig".as_ref(), &["version"]) || runs(&python, &["-m", "ziglang", "version"]),
    };
    if found {
        Ok(())
    } else {
        Err(
            "zig is not installed (neither `zig` on PATH nor Python's `ziglang` package)"
                .to_owned(),
        )
    }
}

/// The ELF machine the architecture's functions run: what the bootstrap must be built for.
pub fn elf_architecture(architecture: Architecture) -> object::Architecture {
    match architecture {
        Architecture::X86_64 => object::Architecture::X86_64,
        Architecture::Arm64 => object::Architecture::Aarch64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(triple: &str, glibc: Option<(u32, u32)>) -> Host {
        Host {
            triple: triple.to_owned(),
            glibc: glibc.map(Glibc::from),
        }
    }

    const LINUX: &str = "x86_64-unknown-linux-gnu";

    fn installed() -> Result<(), String> {
        Ok(())
    }

    fn missing() -> Result<(), String> {
        Err("`cargo-zigbuild` is not on PATH".to_owned())
    }

    #[test]
    fn a_linux_host_with_lambdas_glibc_builds_natively_without_asking_for_zig() {
        let plan = plan(
            Architecture::X86_64,
            ZigChoice::Auto,
            LAMBDA_GLIBC,
            &host(LINUX, Some((2, 34))),
            || panic!("zig is not a candidate"),
        )
        .unwrap();
        assert_eq!(plan.toolchain, Toolchain::Native);
        assert_eq!(plan.cargo_target, None);
        assert_eq!(plan.note, None);
    }

    #[test]
    fn a_newer_glibc_a_mac_or_another_architecture_go_through_zig_with_the_glibc_pinned() {
        for (triple, glibc, architecture, target) in [
            (
                LINUX,
                Some((2, 39)),
                Architecture::X86_64,
                "x86_64-unknown-linux-gnu.2.34",
            ),
            (
                "aarch64-apple-darwin",
                None,
                Architecture::X86_64,
                "x86_64-unknown-linux-gnu.2.34",
            ),
            (
                LINUX,
                Some((2, 31)),
                Architecture::Arm64,
                "aarch64-unknown-linux-gnu.2.34",
            ),
        ] {
            let plan = plan(
                architecture,
                ZigChoice::Auto,
                LAMBDA_GLIBC,
                &host(triple, glibc),
                installed,
            )
            .unwrap();
            assert_eq!(plan.toolchain, Toolchain::Zig, "{triple}");
            assert_eq!(plan.cargo_target.as_deref(), Some(target));
            assert!(plan.note.unwrap().starts_with("building through zig"));
        }
        // A pinned glibc lower than the host's is a reason too.
        let pinned = plan(
            Architecture::X86_64,
            ZigChoice::Auto,
            MIN_GLIBC,
            &host(LINUX, Some((2, 34))),
            installed,
        )
        .unwrap();
        assert_eq!(
            pinned.cargo_target.as_deref(),
            Some("x86_64-unknown-linux-gnu.2.17")
        );
    }

    #[test]
    fn without_zig_a_newer_linux_builds_natively_and_another_host_says_what_to_install() {
        let newer = plan(
            Architecture::X86_64,
            ZigChoice::Auto,
            LAMBDA_GLIBC,
            &host(LINUX, Some((2, 36))),
            missing,
        )
        .unwrap();
        assert_eq!(newer.toolchain, Toolchain::Native);
        let note = newer.note.unwrap();
        assert!(note.contains("glibc 2.36 is newer than the 2.34"), "{note}");
        assert!(
            note.contains("pip3 install ziglang cargo-zigbuild"),
            "{note}"
        );

        let mac = plan(
            Architecture::Arm64,
            ZigChoice::Auto,
            LAMBDA_GLIBC,
            &host("aarch64-apple-darwin", None),
            missing,
        )
        .unwrap_err()
        .to_string();
        assert!(
            mac.contains("arm64 Lambda (aarch64-unknown-linux-gnu)"),
            "{mac}"
        );
        assert!(mac.contains("`cargo-zigbuild` is not on PATH"), "{mac}");
        assert!(mac.contains("pip3 install ziglang cargo-zigbuild"), "{mac}");
        assert!(mac.contains("--no-zig"), "{mac}");
    }

    #[test]
    fn the_flags_force_either_way() {
        let linux = host(LINUX, Some((2, 34)));
        let forced = plan(
            Architecture::X86_64,
            ZigChoice::Always,
            LAMBDA_GLIBC,
            &linux,
            installed,
        );
        assert_eq!(forced.unwrap().toolchain, Toolchain::Zig);
        let refused = plan(
            Architecture::X86_64,
            ZigChoice::Always,
            LAMBDA_GLIBC,
            &linux,
            missing,
        )
        .unwrap_err()
        .to_string();
        assert!(refused.starts_with("`--zig` builds through cargo-zigbuild and zig, but `cargo-zigbuild` is not on PATH: install them with `pip3 install"), "{refused}");
        let mac = host("aarch64-apple-darwin", None);
        let native = plan(
            Architecture::X86_64,
            ZigChoice::Never,
            LAMBDA_GLIBC,
            &mac,
            || panic!("not asked"),
        )
        .unwrap();
        assert_eq!(native.toolchain, Toolchain::Native);
        assert_eq!(native.cargo_target.as_deref(), Some(LINUX));
    }

    #[test]
    fn glibc_versions_are_read_within_lambdas_range() {
        assert_eq!("2.17".parse(), Ok(MIN_GLIBC));
        assert_eq!("2.34".parse(), Ok(LAMBDA_GLIBC));
        let newer = "2.38".parse::<Glibc>().unwrap_err();
        assert!(
            newer.contains("glibc 2.38 is newer than Lambda's provided.al2023 runtime has (2.34)"),
            "{newer}"
        );
        assert!(
            "2.5"
                .parse::<Glibc>()
                .unwrap_err()
                .contains("older than Rust's")
        );
        let garbage = "two".repeat(1000).parse::<Glibc>().unwrap_err();
        assert!(
            garbage.contains("is not a glibc version: write it as `2.34`"),
            "{garbage}"
        );
        assert!(garbage.len() < 400, "{garbage}");
    }
}
