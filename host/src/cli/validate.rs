//! `airlock validate`: checks documents against a standard, one report per file, as
//! JSON lines or for people.
//!
//! Invariants:
//! - Validation is the library's (`airlock_host::validate`), the same the server
//!   runs on connector outputs; this module only reads files and prints reports.
//! - Every file is reported, valid or not, in the order given (files are checked
//!   on one thread per core; stdin, `-`, is read by the printing thread in its
//!   turn); the first file that cannot be read stops the run with exit 2, after the
//!   reports of the files before it, without waiting for the files in flight.

use std::path::PathBuf;
use std::process::ExitCode;

use super::read;

/// The arguments of `airlock validate` (its help text is `Command::Validate`'s doc).
#[derive(clap::Args)]
pub struct ValidateArgs {
    /// `stix-2.1`, `cap-1.2`, `ais`, `niem` or `stanag-4607`.
    #[arg(long)]
    standard: String,
    /// One JSON object per line per input: {"file", "valid", "errors", "warnings"}.
    #[arg(long)]
    json: bool,
    /// The documents (`-` reads stdin).
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

/// `airlock validate`: exit 0 when all are valid, 1 when any is invalid, 2 on an
/// unknown standard or a file that cannot be read.
pub fn validate(args: &ValidateArgs) -> ExitCode {
    use airlock_host::validate::Standard;
    let ValidateArgs {
        standard,
        json,
        files,
    } = args;
    // Every standard but plain `json`, which declares nothing to check.
    let checked: Vec<&str> = Standard::ALL
        .iter()
        .filter(|s| s.is_validated())
        .map(|s| s.as_str())
        .collect();
    let Some(std) = standard
        .parse::<Standard>()
        .ok()
        .filter(|s| s.is_validated())
    else {
        eprintln!(
            "error: unknown standard `{standard}`: use {}",
            airlock_host::vocab::either(&checked)
        );
        return ExitCode::from(2);
    };
    let mut out = Printer {
        // One write per buffer, not per line: a few hundred reports are one syscall.
        // Not locked for the run: a worker that ever wrote to stdout would wait.
        out: std::io::BufWriter::new(std::io::stdout()),
        json: *json,
        any_invalid: false,
    };
    let outcome = check_in_order(std, files, |file, report| out.print(file, report));
    use std::io::Write as _;
    let _ = out.out.flush();
    if let Err(e) = outcome {
        eprintln!("error: {e:#}");
        return ExitCode::from(2);
    }
    ExitCode::from(u8::from(out.any_invalid))
}

/// What a worker made of a file.
enum Checked {
    /// Its report.
    Report(airlock_host::validate::Report),
    /// It could not be read.
    Unreadable(anyhow::Error),
    /// It is `-`: stdin is read by the printing thread when its turn comes, so
    /// the first `-` gets the input whatever the threads' timing, and stdin is never
    /// read after an earlier file failed.
    Stdin,
}

/// Checks `files` on one detached thread per core and hands each report to `print`
/// in the order given; stops at the first file that cannot be read and returns its
/// error (the process then exits: threads still reading a slow file or a pipe do
/// not hold it up). Falls back to this thread alone if none can be started.
fn check_in_order(
    std: airlock_host::validate::Standard,
    files: &[PathBuf],
    mut print: impl FnMut(&std::path::Path, &airlock_host::validate::Report),
) -> anyhow::Result<()> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let check = move |file: &PathBuf| {
        if file.as_os_str() == "-" {
            return Checked::Stdin;
        }
        match read(file) {
            Ok(bytes) => Checked::Report(airlock_host::validate::validate(std, &bytes)),
            Err(e) => Checked::Unreadable(e),
        }
    };
    let shared: Arc<[PathBuf]> = files.into();
    let next = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = std::sync::mpsc::channel();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut started = 0;
    for _ in 0..cores.min(files.len()) {
        let (files, next, tx) = (shared.clone(), next.clone(), tx.clone());
        let worker = std::thread::Builder::new()
            .name("airlock-validate".into())
            .spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(file) = files.get(i) else { break };
                    if tx.send((i, check(file))).is_err() {
                        break;
                    }
                }
            });
        started += usize::from(worker.is_ok());
    }
    drop(tx);
    let mut finish = |file: &PathBuf, checked: Checked| match checked {
        Checked::Report(report) => {
            print(file, &report);
            Ok(())
        }
        Checked::Unreadable(e) => Err(e),
        Checked::Stdin => {
            let report = airlock_host::validate::validate(std, &read(file)?);
            print(file, &report);
            Ok(())
        }
    };
    if started == 0 {
        return files.iter().try_for_each(|file| finish(file, check(file)));
    }
    let mut waiting = std::collections::BTreeMap::new();
    let mut due = 0;
    for (i, checked) in rx {
        waiting.insert(i, checked);
        while let Some(checked) = waiting.remove(&due) {
            finish(&files[due], checked)?;
            due += 1;
        }
    }
    // Every worker has gone: one that died (a panic, never expected) must not turn
    // the files it held into a silent success.
    match files.get(due) {
        Some(file) => anyhow::bail!("checking {} stopped unexpectedly", file.display()),
        None => Ok(()),
    }
}

/// Where the reports go, in the order of the files.
struct Printer<W> {
    out: W,
    json: bool,
    any_invalid: bool,
}

impl<W: std::io::Write> Printer<W> {
    fn print(&mut self, file: &std::path::Path, report: &airlock_host::validate::Report) {
        self.any_invalid |= !report.valid;
        let name = file.display().to_string();
        let out = &mut self.out;
        if self.json {
            let line = serde_json::json!({"file": name, "valid": report.valid,
                "errors": report.errors, "warnings": report.warnings});
            let _ = writeln!(out, "{line}");
        } else {
            let _ = writeln!(
                out,
                "{name}: {}",
                if report.valid { "valid" } else { "INVALID" }
            );
            for (what, findings) in [("error", &report.errors), ("warning", &report.warnings)] {
                for f in findings {
                    let at = if f.path.is_empty() {
                        "/"
                    } else {
                        f.path.as_str()
                    };
                    let _ = writeln!(out, "  {what} [{}] at {at}: {}", f.rule, f.message);
                }
            }
        }
    }
}
