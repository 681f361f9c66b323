//! `mqtt-lab`: list, check and run MQTT Session Lab scenarios from the command line.

use session_engine::budget::Limits;
use session_engine::{library, trace, Player, Scenario, ScenarioError};
use std::process::ExitCode;

mod conformance;
mod random;
mod verify;
mod wire;

const USAGE: &str = "\
mqtt-lab: MQTT Session Lab scenarios on the command line

USAGE:
    mqtt-lab list                 built-in scenarios (id, version, broker, title)
    mqtt-lab check FILE...        validate and play scenario files (errors give line and
                                  column; a file must be UTF-8, a byte-order mark is skipped)
    mqtt-lab run FILE|ID          the trace, step by step, readable
    mqtt-lab run --json FILE|ID   the trace as JSON lines (schema mqtt-session-lab/trace@1),
                                  written as they are made
    mqtt-lab run --broker PROFILE FILE|ID
                                  play it on another broker profile (the scenario's
                                  overrides stay), as the page's broker picker does
    check and run also take:
      --limit NAME=N              raise (or lower) one limit of the run; N may be \"none\".
                                  The limits and their defaults (the page's):
                                    events=2000000       trace entries in the whole run
                                    step_events=2000000  trace entries one step may add
                                    packets=2000000      packets put on a link
                                    timers=2000000       timer firings (pings, reconnects, ...)
                                    held=1000000         messages held at the end of a step
                                    kept=10000000        messages held, summed over all steps
      --no-limits                 no limit at all (the run may take any time and memory)
                                  A run stopped by a limit names the step and the cause and
                                  exits with code 3 (other errors: 1, usage: 2).
    mqtt-lab show ID              print a built-in scenario's JSON (a starting point for your own)
    mqtt-lab profiles [--markdown] the broker profiles, their departures from the specification
                                  and their sources (--markdown: docs/DIVERGENCES.md)
    mqtt-lab statements [--markdown]
                                  the MQTT 3.1.1 and 5.0 statements the engine cites, each
                                  with a one-line summary (--markdown: docs/STATEMENTS.md)
    mqtt-lab verify FILE|ID       play the scenario against a real mosquitto (Debian package,
                                  started here on a free 127.0.0.1 port) and compare what its
                                  clients receive with the engine's mosquitto-2.0.11 prediction,
                                  side by side, the first difference marked
    mqtt-lab verify --json FILE|ID
                                  what mosquitto's clients observed, as trace@1 JSON lines
    mqtt-lab verify-random [COUNT [FIRST_SEED]]
                                  verify COUNT (default 20) random small scenarios; the ones
                                  that differ are saved in target/verify-random/
    mqtt-lab conformance live [--write] [--tries N] [NAME...]
                                  play the conformance set (tests/conformance, the built-ins,
                                  random seeds 1-40) against mosquitto, each again up to N
                                  times (default 3) if it does not match; fails only when
                                  packets differ, reports timing drift; --write stores what
                                  the clients observed as fixtures
    mqtt-lab codec samples [SEED [COUNT]]
                                  COUNT (default 1000) seeded random packets of every type
                                  and both versions, valid by the specification, as JSON
                                  lines {version, hex, packet} written by the engine's encoder
    mqtt-lab codec decode         read JSON lines {version, hex} on stdin; print the engine
                                  decoder's verdict on each (packet, or error with statement)
    mqtt-lab conformance report [--write]
                                  docs/CONFORMANCE.md from the fixtures (no broker); --write
                                  writes it, the verified list and the engine's fixture index
";

/// A built-in scenario by id, or a file's bytes (read as the page reads an upload, by
/// [`Scenario::read_bytes`]), with the name to show.
fn load(arg: &str) -> Result<(String, Vec<u8>), String> {
    if let Some(text) = library::text_by_id(arg) {
        return Ok((format!("built-in:{arg}"), text.as_bytes().to_vec()));
    }
    std::fs::read(arg)
        .map(|t| (arg.to_string(), t))
        .map_err(|e| format!("{arg}: not a built-in scenario id and not a readable file ({e})"))
}

/// The limits of a run from `--limit NAME=N` (any number of them) and `--no-limits`; the page
/// always plays with the defaults.
fn limits(args: &[String]) -> Result<Limits, String> {
    let mut l = if args.iter().any(|a| a == "--no-limits") {
        Limits::unlimited()
    } else {
        Limits::default()
    };
    let mut rest = args.iter();
    while let Some(a) = rest.next() {
        if a == "--limit" {
            let v = rest
                .next()
                .filter(|v| !v.starts_with("--"))
                .ok_or("--limit needs NAME=N (e.g. --limit events=5000000)")?;
            l.set(v)?;
        }
    }
    Ok(l)
}

/// Exit code of a run stopped by one of its limits (other failures exit 1).
const EXIT_LIMIT: u8 = 3;

/// Whether `e` is a stop at a limit of the run (see `session_engine::budget`).
fn is_limit_stop(e: &ScenarioError) -> bool {
    e.message.contains("(mqtt-lab: --limit ")
}

/// The value after `--name` in `args`, if the option is given; an error if it has none.
fn option_value<'a>(args: &'a [String], name: &str) -> Result<Option<&'a str>, String> {
    match args.iter().position(|a| a == name) {
        None => Ok(None),
        Some(i) => args
            .get(i + 1)
            .filter(|v| !v.starts_with("--"))
            .map(|v| Some(v.as_str()))
            .ok_or_else(|| format!("{name} needs a value")),
    }
}

/// The first argument that is neither an option nor the value of one of `with_value`.
fn positional<'a>(args: &'a [String], with_value: &[&str]) -> Option<&'a String> {
    let mut skip = false;
    for a in args {
        if skip {
            skip = false;
            continue;
        }
        if with_value.contains(&a.as_str()) {
            skip = true;
            continue;
        }
        if !a.starts_with("--") {
            return Some(a);
        }
    }
    None
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = args.first() else {
        eprint!("{USAGE}");
        return ExitCode::from(2);
    };
    match cmd.as_str() {
        "list" => {
            for s in library::all() {
                println!(
                    "{:<28} {:<6} {:<18} {}",
                    s.id,
                    s.version.label(),
                    s.broker.profile_id(),
                    s.title
                );
            }
            ExitCode::SUCCESS
        }
        "profiles" => match args.get(1).map(String::as_str) {
            None => {
                print!("{}", profiles_text());
                ExitCode::SUCCESS
            }
            Some("--markdown") => {
                print!("{}", profiles_markdown());
                ExitCode::SUCCESS
            }
            Some(other) => {
                eprintln!("profiles: unknown option {other} (use --markdown or nothing)");
                ExitCode::from(2)
            }
        },
        "statements" => match args.get(1).map(String::as_str) {
            None => {
                print!("{}", statements_text(false));
                ExitCode::SUCCESS
            }
            Some("--markdown") => {
                print!("{}", statements_text(true));
                ExitCode::SUCCESS
            }
            Some(other) => {
                eprintln!("statements: unknown option {other} (use --markdown or nothing)");
                ExitCode::from(2)
            }
        },
        "show" => match args.get(1).and_then(|id| library::text_by_id(id)) {
            Some(t) => {
                print!("{t}");
                ExitCode::SUCCESS
            }
            None => {
                eprintln!("show: give a built-in scenario id (see `mqtt-lab list`)");
                ExitCode::from(2)
            }
        },
        "check" => {
            if args.len() < 2 {
                eprint!("{USAGE}");
                return ExitCode::from(2);
            }
            let limits = match limits(&args[1..]) {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("check: {e}");
                    return ExitCode::from(2);
                }
            };
            let (mut failed, mut stopped) = (false, false);
            let mut files = Vec::new();
            let mut rest = args[1..].iter();
            while let Some(a) = rest.next() {
                match a.as_str() {
                    "--limit" => {
                        rest.next();
                    }
                    "--no-limits" => {}
                    _ => files.push(a),
                }
            }
            if files.is_empty() {
                eprint!("{USAGE}");
                return ExitCode::from(2);
            }
            for f in files {
                match load(f).and_then(|(name, bytes)| {
                    Scenario::read_bytes(&bytes)
                        .map(|s| (name, s))
                        .map_err(|e| format!("{f}: {e}"))
                }) {
                    Ok((name, s)) => match Player::with_limits(s, limits) {
                        Ok(p) => println!("{name}: ok ({} steps)", p.len() - 1),
                        Err(e) => {
                            failed = true;
                            stopped |= is_limit_stop(&e);
                            eprintln!("{name}: {e}");
                        }
                    },
                    Err(e) => {
                        failed = true;
                        eprintln!("{e}");
                    }
                }
            }
            match (failed, stopped) {
                (false, _) => ExitCode::SUCCESS,
                (true, true) => ExitCode::from(EXIT_LIMIT),
                (true, false) => ExitCode::FAILURE,
            }
        }
        "run" => {
            let json = args.iter().any(|a| a == "--json");
            let broker = match option_value(&args[1..], "--broker") {
                Ok(b) => b,
                Err(e) => {
                    eprintln!("run: {e}");
                    return ExitCode::from(2);
                }
            };
            let limits = match limits(&args[1..]) {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("run: {e}");
                    return ExitCode::from(2);
                }
            };
            let Some(target) = positional(&args[1..], &["--broker", "--limit"]) else {
                eprint!("{USAGE}");
                return ExitCode::from(2);
            };
            let (name, bytes) = match load(target) {
                Ok(x) => x,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::FAILURE;
                }
            };
            let played = Scenario::read_bytes(&bytes).and_then(|mut sc| {
                if let Some(b) = broker {
                    // As the page's broker picker does: the profile changes, the scenario's
                    // overrides stay.
                    sc.broker.profile = b.to_string();
                    sc.broker
                        .resolve()
                        .map_err(|m| session_engine::ScenarioError {
                            line: None,
                            column: None,
                            path: Some("--broker".into()),
                            message: m,
                        })?;
                }
                Player::with_limits(sc, limits)
            });
            match played {
                Ok(p) => {
                    use std::io::Write;
                    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
                    // Each line goes out as it is made: the JSON text is never held whole.
                    let written = if json {
                        trace::write_json_lines(&p, &mut out)
                    } else {
                        write!(out, "{}", trace::text(&p))
                    };
                    match written.and_then(|()| out.flush()) {
                        Ok(()) => ExitCode::SUCCESS,
                        // A closed pipe (`| head`) is the reader's choice, not an error to shout.
                        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
                        Err(e) => {
                            eprintln!("{name}: writing the trace: {e}");
                            ExitCode::FAILURE
                        }
                    }
                }
                Err(e) => {
                    eprintln!("{name}: {e}");
                    if is_limit_stop(&e) {
                        ExitCode::from(EXIT_LIMIT)
                    } else {
                        ExitCode::FAILURE
                    }
                }
            }
        }
        "verify" => {
            let json = args.iter().any(|a| a == "--json");
            let Some(target) = args[1..].iter().find(|a| !a.starts_with("--")) else {
                eprint!("{USAGE}");
                return ExitCode::from(2);
            };
            let run = load(target).and_then(|(name, bytes)| {
                let sc = Scenario::read_bytes(&bytes).map_err(|e| format!("{name}: {e}"))?;
                let p =
                    Player::new(verify::on_mosquitto(sc)).map_err(|e| format!("{name}: {e}"))?;
                verify::expressible(&p)
                    .map_err(|e| format!("{name}: not expressible against a real broker: {e}"))?;
                let (c, observed) = verify::check(&p)?;
                Ok((name, c.same(), c.text, observed))
            });
            match run {
                Ok((name, same, text, observed)) => {
                    if json {
                        for s in &observed {
                            for r in s.records() {
                                println!("{r}");
                            }
                        }
                    } else {
                        print!("{text}");
                        println!(
                            "{name}: {}",
                            if same {
                                "matches mosquitto"
                            } else {
                                "DIFFERS from mosquitto (first difference marked >>)"
                            }
                        );
                    }
                    if same {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::FAILURE
                    }
                }
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::from(2)
                }
            }
        }
        "verify-random" => {
            let num = |i: usize, default: u64| {
                args.get(i)
                    .map(|a| a.parse::<u64>().map_err(|_| format!("not a count: {a}")))
                    .unwrap_or(Ok(default))
            };
            let (count, first) = match (num(1, 20), num(2, 1)) {
                (Ok(c), Ok(f)) => (c, f),
                (Err(e), _) | (_, Err(e)) => {
                    eprintln!("{e}\n");
                    eprint!("{USAGE}");
                    return ExitCode::from(2);
                }
            };
            let dir = std::path::Path::new("target/verify-random");
            let _ = std::fs::create_dir_all(dir);
            let (mut same, mut differ) = (0, 0);
            for seed in first..first.saturating_add(count) {
                let text = random::scenario(seed);
                let p = match Scenario::from_json(&text)
                    .and_then(|sc| Player::new(verify::on_mosquitto(sc)))
                {
                    Ok(p) => p,
                    Err(e) => {
                        eprintln!("random-{seed}: {e}");
                        return ExitCode::FAILURE;
                    }
                };
                let (ok, cmp) = match verify::check(&p) {
                    Ok((c, _)) => (c.same(), c.text),
                    Err(e) => {
                        eprintln!("random-{seed}: {e}");
                        return ExitCode::from(2);
                    }
                };
                if ok {
                    same += 1;
                    println!("match        random-{seed}");
                } else {
                    differ += 1;
                    let file = dir.join(format!("random-{seed}.json"));
                    let _ = std::fs::write(&file, &text);
                    println!(
                        "DIFFERS      random-{seed} (saved as {})\n{cmp}",
                        file.display()
                    );
                }
            }
            println!("random scenarios against mosquitto: {same} match, {differ} differ");
            if differ == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        "conformance" => {
            let root = std::path::Path::new(".");
            let flag = |f: &str| args.iter().any(|a| a == f);
            match args.get(1).map(String::as_str) {
                Some("live") => {
                    let mut tries = 3;
                    let mut names = Vec::new();
                    let mut rest = args[2..].iter();
                    while let Some(a) = rest.next() {
                        match a.as_str() {
                            "--write" => {}
                            "--tries" => match rest.next().and_then(|n| n.parse().ok()) {
                                Some(n) if n > 0 => tries = n,
                                _ => {
                                    eprintln!("--tries needs a count of 1 or more");
                                    return ExitCode::from(2);
                                }
                            },
                            n => names.push(n.to_string()),
                        }
                    }
                    match conformance::live(root, &names, flag("--write"), tries) {
                        Ok(true) => ExitCode::SUCCESS,
                        Ok(false) => ExitCode::FAILURE,
                        Err(e) => {
                            eprintln!("{e}");
                            ExitCode::from(2)
                        }
                    }
                }
                Some("report") => match conformance::report(root) {
                    Ok(r) => {
                        if flag("--write") {
                            let files = [
                                (conformance::REPORT, &r.markdown),
                                (conformance::VERIFIED, &r.verified),
                                (conformance::INDEX, &r.index),
                            ];
                            for (path, text) in files {
                                if let Err(e) = std::fs::write(path, text) {
                                    eprintln!("{path}: {e}");
                                    return ExitCode::FAILURE;
                                }
                            }
                            println!(
                                "wrote {}, {} and {}",
                                conformance::REPORT,
                                conformance::VERIFIED,
                                conformance::INDEX
                            );
                        } else {
                            print!("{}", r.markdown);
                        }
                        for f in &r.failing {
                            eprintln!("{f}");
                        }
                        if r.failing.is_empty() {
                            ExitCode::SUCCESS
                        } else {
                            ExitCode::FAILURE
                        }
                    }
                    Err(e) => {
                        eprintln!("{e}");
                        ExitCode::FAILURE
                    }
                },
                _ => {
                    eprint!("{USAGE}");
                    ExitCode::from(2)
                }
            }
        }
        "codec" => match args.get(1).map(String::as_str) {
            Some("samples") => {
                let num = |i: usize, default: u64| {
                    args.get(i)
                        .map(|a| a.parse::<u64>().map_err(|_| format!("not a number: {a}")))
                        .unwrap_or(Ok(default))
                };
                let lines = match (num(2, 1), num(3, 1000)) {
                    (Ok(seed), Ok(count)) => wire::samples(seed, count),
                    (Err(e), _) | (_, Err(e)) => {
                        eprintln!("{e}\n");
                        eprint!("{USAGE}");
                        return ExitCode::from(2);
                    }
                };
                match lines {
                    Ok(lines) => {
                        use std::io::Write;
                        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
                        for l in lines {
                            if writeln!(out, "{l}").is_err() {
                                return ExitCode::FAILURE;
                            }
                        }
                        ExitCode::SUCCESS
                    }
                    Err(e) => {
                        eprintln!("{e}");
                        ExitCode::FAILURE
                    }
                }
            }
            Some("decode") => {
                use std::io::{BufRead, Write};
                let mut out = std::io::BufWriter::new(std::io::stdout().lock());
                for line in std::io::stdin().lock().lines() {
                    let Ok(line) = line else {
                        eprintln!("stdin is not UTF-8 text");
                        return ExitCode::FAILURE;
                    };
                    if line.trim().is_empty() {
                        continue;
                    }
                    if writeln!(out, "{}", wire::decode_line(&line)).is_err() {
                        return ExitCode::FAILURE;
                    }
                }
                ExitCode::SUCCESS
            }
            _ => {
                eprint!("{USAGE}");
                ExitCode::from(2)
            }
        },
        "-h" | "--help" | "help" => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        other => {
            eprintln!("unknown command \"{other}\"\n");
            eprint!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// `mqtt-lab statements`: the statement catalogue (`session_engine::statement`), as text or as
/// docs/STATEMENTS.md (cli/tests/cli.rs fails when the committed file is stale).
fn statements_text(markdown: bool) -> String {
    use session_engine::{statement, Version};
    let mut out = String::new();
    if markdown {
        out.push_str(
            "# The statements the engine cites\n\n\
             Generated by `mqtt-lab statements --markdown` from the engine's statement catalogue\n\
             (`engine/src/statement/`); `cargo test` fails when this file is stale, and when the code,\n\
             a trace, the behaviour catalogue or a decoder error cites a statement id that is not\n\
             here in the version it is cited for. The summaries are ours, one line each; the\n\
             specifications' own words are in the OASIS standards: MQTT Version 3.1.1 (29 October\n\
             2014) and MQTT Version 5.0 (7 March 2019).\n\n\
             The two versions number their statements independently: the same id often names\n\
             different rules (3.1.1 `[MQTT-3.1.2-8]` is the will on an unexpected close; 5.0\n\
             `[MQTT-3.1.2-8]` adds the Will Delay Interval). A citation names its version\n\
             (`[MQTT-3.1.2-8] 5.0`); one that does not is read in the version of the connection it\n\
             is about.\n",
        );
    }
    for v in [Version::V311, Version::V5] {
        let all = statement::all(v);
        if markdown {
            out.push_str(&format!(
                "\n## {v} ({} statements)\n\n| statement | what it requires |\n| --- | --- |\n",
                all.len()
            ));
            for s in all {
                out.push_str(&format!(
                    "| `{}` | {} |\n",
                    s.bracketed(),
                    s.summary.replace('|', "\\|")
                ));
            }
        } else {
            out.push_str(&format!("{v}\n"));
            for s in all {
                out.push_str(&format!("  {:<17} {}\n", s.bracketed(), s.summary));
            }
            out.push('\n');
        }
    }
    out
}

/// `mqtt-lab profiles`: every broker profile with its departures from the specification and its
/// choices where the specification leaves one, from the engine's behaviour catalogue.
fn profiles_text() -> String {
    use session_engine::behaviour::Standing;
    let mut out = String::new();
    for p in session_engine::BrokerProfile::all() {
        out.push_str(&format!("{}  ({})\n  {}\n", p.name, p.id, p.source));
        let departures = p.departures();
        if departures.is_empty() {
            out.push_str("  The specification's own profile: every behaviour as the specification states it.\n");
        }
        let mut heading = None;
        for d in departures {
            if heading != Some(d.entry.standing) {
                heading = Some(d.entry.standing);
                out.push_str(match d.entry.standing {
                    Standing::Departs => "  Departs from the specification:\n",
                    Standing::Choice => "  Chooses where the specification leaves it open:\n",
                });
            }
            let rules = if d.entry.rules.is_empty() {
                String::new()
            } else {
                format!("  ({})", d.entry.rules.join("; "))
            };
            out.push_str(&format!(
                "    {} = {}{rules}\n      {} {}.\n      Specification: {}.\n      Source: {}.\n",
                d.field, d.value, p.name, d.entry.broker, d.entry.spec, d.entry.source
            ));
        }
        out.push('\n');
    }
    out
}

/// `mqtt-lab profiles --markdown`: docs/DIVERGENCES.md, from the engine's behaviour catalogue
/// (cli/tests/cli.rs fails when the committed file is stale).
fn profiles_markdown() -> String {
    use session_engine::behaviour::Standing;
    let cell = |s: &str| s.replace('|', "\\|");
    let mut out = String::from(
        "# Where each broker profile departs from the specification\n\n\
         Generated by `mqtt-lab profiles --markdown` from the engine's behaviour catalogue\n\
         (`engine/src/behaviour.rs`); `cargo test` fails when this file is stale. A *departure*\n\
         does what a statement of MQTT 3.1.1 or 5.0 says a server must not, or leaves out what it\n\
         must do; the engine reports each one in the trace as it happens (\"Spec vs broker\"), and\n\
         a test checks that every departure it reports is listed here. A *choice* is the broker's\n\
         own way where the specification allows several or says nothing. What was checked against\n\
         a real mosquitto 2.0.11 is in [CONFORMANCE.md](CONFORMANCE.md).\n",
    );
    for p in session_engine::BrokerProfile::all() {
        out.push_str(&format!("\n## {} (`{}`)\n\n{}\n", p.name, p.id, p.source));
        let list = p.departures();
        if list.is_empty() {
            out.push_str("\nThe specification's own profile: every behaviour as the specification states it.\n");
            continue;
        }
        for (standing, title) in [
            (Standing::Departs, "Departures"),
            (Standing::Choice, "Choices"),
        ] {
            let items: Vec<_> = list
                .iter()
                .filter(|d| d.entry.standing == standing)
                .collect();
            if items.is_empty() {
                continue;
            }
            out.push_str(&format!(
                "\n### {title}\n\n| Behaviour | Rule | {} | Specification | Source |\n|---|---|---|---|---|\n",
                cell(&p.name)
            ));
            for d in items {
                out.push_str(&format!(
                    "| `{} = {}` | {} | {} | {} | {} |\n",
                    d.field,
                    d.value,
                    cell(&d.entry.rules.join("; ")),
                    cell(d.entry.broker),
                    cell(d.entry.spec),
                    cell(d.entry.source)
                ));
            }
        }
    }
    out
}
