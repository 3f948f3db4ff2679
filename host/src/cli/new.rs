//! `airlock new NAME --category CAT [--kind poll|action|ingest] [--standard STD]
//! [--sdk PATH|GIT-URL]`: scaffolds a connector crate that builds for
//! `wasm32-wasip2` and passes its own tests at once.
//!
//! Invariants:
//! - The templates are files under `host/templates/new/`, embedded in the binary
//!   (`include_str!`); this module only fills their `{{placeholders}}`.
//! - Nothing is written unless every argument is good, and an existing non-empty
//!   directory is never written into.
//! - The scaffold's manifest passes the upload quality gate: its id is NAME (which
//!   must be lower kebab case), its sample output is made by the code that makes
//!   live output, and `osint`/`dark-web` default to `stix-2.1`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};

use airlock_host::vocab::{Category, Standard};

/// The arguments of `airlock new` (its help text is `Command::New`'s doc).
#[derive(clap::Args)]
pub struct NewArgs {
    /// The connector's id and crate name: lower kebab case (`my-feed`).
    name: String,
    /// osint, financial, social, dark-web, telemetry or custom.
    #[arg(long)]
    category: String,
    /// What the connector does: `action` (answers invoke calls), `poll` (fetches an
    /// upstream on a schedule) or `ingest` (transforms pushed events).
    #[arg(long, default_value = "action")]
    kind: String,
    /// The output standard: `stix-2.1`, `cap-1.2` or `json`; `stix-2.1` for osint
    /// and dark-web, `json` otherwise.
    #[arg(long)]
    standard: Option<String>,
    /// Where the SDK comes from: a path to the `guest-sdk` directory, or a git URL
    /// (`git+https://…[#REV]`). By default, the SDK of the source tree this binary
    /// was built from.
    #[arg(long, value_name = "PATH|GIT-URL")]
    sdk: Option<String>,
    /// The vendor named in the manifest.
    #[arg(long, default_value = "Your Company")]
    vendor: String,
    /// The directory to create; `./NAME` by default.
    #[arg(long)]
    dir: Option<PathBuf>,
}

const CARGO_TOML: &str = include_str!("../../templates/new/Cargo.toml.tmpl");
const README: &str = include_str!("../../templates/new/README.md.tmpl");
const GITIGNORE: &str = include_str!("../../templates/new/gitignore.tmpl");
const RECORDS: &str = include_str!("../../templates/new/records.json.tmpl");
const RECORD_RS: &str = include_str!("../../templates/new/record.rs.tmpl");
const LIB_ACTION: &str = include_str!("../../templates/new/lib-action.rs.tmpl");
const LIB_POLL: &str = include_str!("../../templates/new/lib-poll.rs.tmpl");
const LIB_INGEST: &str = include_str!("../../templates/new/lib-ingest.rs.tmpl");
const OUTPUT_STIX: &str = include_str!("../../templates/new/output-stix.rs.tmpl");
const OUTPUT_CAP: &str = include_str!("../../templates/new/output-cap.rs.tmpl");
const OUTPUT_JSON: &str = include_str!("../../templates/new/output-json.rs.tmpl");

/// Scaffolds the crate and prints `{"path", "kind", "standard"}`.
pub fn new(args: &NewArgs) -> anyhow::Result<ExitCode> {
    if airlock_host::runtime::manifest::kebab_id(&args.name).is_err() {
        bail!(
            "`{}` is not a connector id: use lower kebab case, words of a-z and 0-9 joined \
             by single `-`, at most {} characters (`my-feed`)",
            airlock_host::text::bounded(&args.name, 80),
            airlock_host::runtime::manifest::MAX_ID
        );
    }
    // The crate's name too: cargo refuses a leading digit and Rust's keywords.
    if args.name.starts_with(|c: char| c.is_ascii_digit()) || KEYWORDS.contains(&args.name.as_str())
    {
        bail!(
            "`{}` cannot name a Rust crate (it starts with a digit or is a keyword); choose \
             another, such as `{}-connector`",
            args.name,
            args.name
        );
    }
    if args.vendor.trim().is_empty()
        || args.vendor.len() > 100
        || args
            .vendor
            .chars()
            .any(|c| c.is_control() || c == '"' || c == '\\' || c == '{')
    {
        bail!(
            "--vendor must be 1 to 100 characters, without control characters, quotes, \
             backslashes or braces"
        );
    }
    let category: Category =
        args.category
            .parse()
            .map_err(|e: airlock_host::vocab::UnknownName| {
                anyhow::anyhow!("--category must be one of {}", e.allowed.join(", "))
            })?;
    let lib = match args.kind.as_str() {
        "action" => LIB_ACTION,
        "poll" => LIB_POLL,
        "ingest" => LIB_INGEST,
        other => bail!("--kind must be action, poll or ingest, not `{other}`"),
    };
    let standard = match &args.standard {
        Some(s) => s
            .parse::<Standard>()
            .map_err(|e| anyhow::anyhow!("--standard must be one of {}", e.allowed.join(", ")))?,
        None if matches!(category, Category::Osint | Category::DarkWeb) => Standard::Stix21,
        None => Standard::Json,
    };
    let (output, standard_variant) = match standard {
        Standard::Stix21 => (OUTPUT_STIX, "Stix21"),
        Standard::Cap12 => (OUTPUT_CAP, "Cap12"),
        Standard::Json => (OUTPUT_JSON, "Json"),
        other => bail!(
            "the scaffold writes stix-2.1, cap-1.2 or json output; for {other}, start from \
             json and use the SDK's module for it (the AIS decoder example shows `ais`)"
        ),
    };
    if matches!(category, Category::Osint | Category::DarkWeb) && standard != Standard::Stix21 {
        bail!(
            "a connector in `{category}` produces cyber-threat intelligence and must declare \
             stix-2.1 as its primary output (the upload gate's rule `threat-intel-stix`)"
        );
    }
    let sdk_dependency = sdk_dependency(args.sdk.as_deref())?;
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(&args.name));
    if dir.exists()
        && std::fs::read_dir(&dir)
            .with_context(|| format!("cannot read {}", dir.display()))?
            .next()
            .is_some()
    {
        bail!(
            "{} exists and is not empty; choose another name or --dir",
            dir.display()
        );
    }
    // The output snippet is a template too: put it in first, then fill every
    // placeholder in one pass, so no value is ever read as a placeholder.
    let values = [
        ("sdk_dependency", sdk_dependency.clone()),
        ("name", args.name.clone()),
        ("crate_name", args.name.replace('-', "_")),
        ("type_name", type_name(&args.name)),
        ("display_name", display_name(&args.name)),
        ("vendor", args.vendor.clone()),
        ("kind", args.kind.clone()),
        ("category", category.as_str().to_string()),
        ("category_variant", category_variant(category).to_string()),
        ("standard_name", standard.as_str().to_string()),
        ("standard_variant", standard_variant.to_string()),
    ];
    let fill = |template: &str| fill_in(&template.replace("{{output}}", output), &values);
    let files: [(&str, &str); 6] = [
        ("Cargo.toml", CARGO_TOML),
        ("README.md", README),
        (".gitignore", GITIGNORE),
        ("src/lib.rs", lib),
        ("src/record.rs", RECORD_RS),
        ("tests/fixtures/records.json", RECORDS),
    ];
    for (path, template) in files {
        write(&dir.join(path), &fill(template))?;
    }
    eprintln!(
        "Created {} ({} connector, {category}, {standard}). Next:\n  cd {}\n  cargo test\n  \
         airlock build\n  airlock check target/wasm32-wasip2/release/{}.wasm",
        dir.display(),
        args.kind,
        dir.display(),
        args.name.replace('-', "_"),
    );
    println!(
        "{}",
        serde_json::json!({"path": dir.display().to_string(), "kind": args.kind,
            "category": category.as_str(), "standard": standard.as_str()})
    );
    Ok(ExitCode::SUCCESS)
}

/// Rust's keywords, which cannot name a crate.
const KEYWORDS: &[&str] = &[
    "as", "async", "await", "box", "break", "const", "continue", "crate", "dyn", "else", "enum",
    "extern", "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod",
    "move", "mut", "pub", "ref", "return", "self", "static", "struct", "super", "trait", "true",
    "try", "type", "unsafe", "use", "where", "while", "yield", "test", "core", "std",
];

/// `template` with each `{{key}}` of `values` replaced, in one pass over the
/// template (a value's own text is never scanned); unknown placeholders stay.
fn fill_in(template: &str, values: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}").and_then(|end| {
            values
                .iter()
                .find(|(k, _)| *k == &after[..end])
                .map(|(_, v)| (end, v))
        }) {
            Some((end, value)) => {
                out.push_str(value);
                rest = &after[end + 2..];
            }
            None => {
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// The `airlock-sdk = …` line: a git source for `git+URL[#REV]` (or a URL ending
/// in `.git`), else a path (made absolute, and it must hold the SDK).
fn sdk_dependency(sdk: Option<&str>) -> anyhow::Result<String> {
    let toml_str = |s: &str| serde_json::Value::String(s.to_string()).to_string();
    let given = match sdk {
        Some(s) => s.to_string(),
        None => {
            let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../guest-sdk");
            if !built_from.join("Cargo.toml").is_file() {
                bail!(
                    "pass --sdk: the path of Airlock's guest-sdk directory or a git URL \
                     (git+https://…); this binary's source tree is not on this machine"
                );
            }
            built_from.display().to_string()
        }
    };
    if let Some(url) = given
        .strip_prefix("git+")
        .or_else(|| (given.ends_with(".git") || given.contains(".git#")).then_some(given.as_str()))
    {
        let (url, rev) = match url.split_once('#') {
            Some((u, r)) => (u, Some(r)),
            None => (url, None),
        };
        return Ok(match rev {
            Some(rev) => format!(
                "airlock-sdk = {{ git = {}, rev = {} }}",
                toml_str(url),
                toml_str(rev)
            ),
            None => format!("airlock-sdk = {{ git = {} }}", toml_str(url)),
        });
    }
    let path = std::fs::canonicalize(&given)
        .with_context(|| format!("--sdk {given}: no such directory"))?;
    let manifest = std::fs::read_to_string(path.join("Cargo.toml")).unwrap_or_default();
    if !manifest.contains("name = \"airlock-sdk\"") {
        bail!(
            "--sdk {}: not the airlock-sdk crate (its Cargo.toml names another package)",
            path.display()
        );
    }
    Ok(format!(
        "airlock-sdk = {{ path = {} }}",
        toml_str(&path.display().to_string())
    ))
}

/// `my-feed` → `MyFeed`.
fn type_name(name: &str) -> String {
    let mut out: String = name
        .split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect();
    // A type name may not start with a digit.
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'C');
    }
    out
}

/// `my-feed` → `My feed`.
fn display_name(name: &str) -> String {
    let words = name.replace('-', " ");
    let mut c = words.chars();
    c.next()
        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
        .unwrap_or_default()
}

/// The SDK's `Category` variant of a category.
fn category_variant(c: Category) -> &'static str {
    match c {
        Category::Osint => "Osint",
        Category::Financial => "Financial",
        Category::Social => "Social",
        Category::DarkWeb => "DarkWeb",
        Category::Telemetry => "Telemetry",
        Category::Custom => "Custom",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_in_one_pass() {
        let values = [("a", "{{b}}".to_string()), ("b", "B".to_string())];
        assert_eq!(
            fill_in("x {{a}} {{b}} {{c}} {{", &values),
            "x {{b}} B {{c}} {{"
        );
    }

    #[test]
    fn names_become_rust_names() {
        assert_eq!(type_name("my-feed"), "MyFeed");
        assert_eq!(type_name("0day-watch"), "C0dayWatch");
        assert_eq!(display_name("my-feed"), "My feed");
    }

    #[test]
    fn the_sdk_is_a_git_source_or_an_existing_sdk_directory() {
        assert_eq!(
            sdk_dependency(Some("git+https://example.org/airlock.git#v0.1.0")).unwrap(),
            r#"airlock-sdk = { git = "https://example.org/airlock.git", rev = "v0.1.0" }"#
        );
        assert_eq!(
            sdk_dependency(Some("https://example.org/airlock.git")).unwrap(),
            r#"airlock-sdk = { git = "https://example.org/airlock.git" }"#
        );
        let line = sdk_dependency(None).unwrap();
        assert!(line.starts_with("airlock-sdk = { path = \""), "{line}");
        assert!(sdk_dependency(Some("/nonexistent/sdk")).is_err());
        assert!(sdk_dependency(Some(env!("CARGO_MANIFEST_DIR"))).is_err());
    }
}
