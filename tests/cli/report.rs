//! `etl report`: the page's content, its errors, and the page in a real
//! browser (Debian's headless Chromium, networking blocked): no console
//! messages, the expected charts with the right number of bars and points,
//! and a screenshot kept under the target folder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;

const STATES: [&str; 8] = ["CA", "NY", "TX", "OH", "FL", "WA", "IL", "GA"];

/// 1,000 rows over 2025: a date, a state (skewed), an amount and a count.
fn sample(dir: &Path) -> (String, BTreeMap<&'static str, f64>) {
    let mut text = String::from("day,state,amount,claims\n");
    let mut sums = BTreeMap::new();
    for i in 0..1000u32 {
        let day = chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap()
            + chrono::Days::new((i * 7 % 365) as u64);
        let state = STATES[if i % 3 == 0 { 0 } else { (i % 8) as usize }];
        let amount = (i % 97) as f64 + 0.5;
        *sums.entry(state).or_insert(0.0) += amount;
        let claims = if i % 50 == 0 {
            String::new()
        } else {
            (i % 13).to_string()
        };
        text.push_str(&format!("{day},{state},{amount},{claims}\n"));
    }
    (csv_in(dir, "sales.csv", &text), sums)
}

const CHARTS: [&str; 5] = [
    "bar x=state y=sum(amount) top=5 title='Amount by state'",
    "histogram x=amount bins=12",
    "line x=day y=sum(claims) every=month",
    "scatter x=avg(amount) y=sum(claims) by=state",
    "scatter x=amount y=claims bins=10",
];

fn report(dir: &Path) -> (PathBuf, BTreeMap<&'static str, f64>) {
    let (input, sums) = sample(dir);
    let out = dir.join("report.html");
    let mut args = vec!["report", input.as_str(), "-o", out.to_str().unwrap()];
    for c in &CHARTS {
        args.extend(["--chart", c]);
    }
    let r = ok(&args);
    assert!(r.stderr.contains("about 1000 rows"), "{}", r.stderr);
    (out, sums)
}

/// Each `<figure class="chart" ...>` of a page: (kind, declared marks, bars, points, inner text).
fn figures(html: &str) -> Vec<(String, usize, usize, usize, String)> {
    html.split("<figure class=\"chart\"")
        .skip(1)
        .map(|f| {
            let body = &f[..f.find("</figure>").expect("closed figure")];
            let attr = |name: &str| {
                let at = body.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
                body[at..at + body[at..].find('"').unwrap()].to_string()
            };
            (
                attr("data-kind"),
                attr("data-marks").parse().unwrap(),
                body.matches("class=\"bar").count(),
                body.matches("class=\"point\"").count(),
                body.to_string(),
            )
        })
        .collect()
}

fn check_charts(html: &str, sums: &BTreeMap<&str, f64>) {
    let figs = figures(html);
    // The declared charts come first, in order.
    let kinds: Vec<&str> = figs.iter().take(5).map(|f| f.0.as_str()).collect();
    assert_eq!(kinds, ["bar", "histogram", "line", "scatter", "scatter"]);
    let (bars, hist, line, by_state, grid) = (&figs[0], &figs[1], &figs[2], &figs[3], &figs[4]);
    assert_eq!((bars.1, bars.2), (5, 5));
    assert_eq!((hist.1, hist.2), (12, 12));
    assert_eq!((line.1, line.3), (12, 12), "one point per month of 2025");
    assert_eq!((by_state.1, by_state.3), (8, 8), "one point per state");
    assert!(
        grid.1 >= 20 && grid.1 <= 100 && grid.3 == grid.1,
        "grid cells: {}",
        grid.1
    );
    // The bars hold the sums, largest first.
    let mut expected: Vec<(&&str, &f64)> = sums.iter().collect();
    expected.sort_by(|a, b| b.1.total_cmp(a.1));
    let first = format!("<title>{}: ", expected[0].0);
    assert!(bars.4.contains("Amount by state"), "title");
    let at = bars.4.find("class=\"bar\"").unwrap();
    assert!(bars.4[at..].contains(&first), "largest first: {first}");
    // Histogram bins count every row with an amount.
    let counts: usize = hist
        .4
        .split(" rows</title>")
        .filter_map(|p| {
            p.rsplit(": ")
                .next()?
                .replace(',', "")
                .parse::<usize>()
                .ok()
        })
        .sum();
    assert_eq!(counts, 1000);
    // Every chart has a text alternative and axis labels.
    for f in &figs {
        assert!(
            f.4.contains("role=\"img\"") && f.4.contains("<desc id="),
            "{}",
            f.0
        );
        if f.0 != "timeline" {
            assert_eq!(f.4.matches("class=\"axis-label\"").count(), 2, "{}", f.0);
        }
    }
}

#[test]
fn a_report_holds_the_declared_charts_and_a_profile() {
    let dir = tempdir();
    let (out, sums) = report(dir.path());
    let html = std::fs::read_to_string(&out).unwrap();
    check_charts(&html, &sums);
    // The profile: the schema table, a time series, a chart per column.
    assert!(html.contains("<td>state</td><td>str</td>"), "schema table");
    assert!(html.contains("Rows over time by day"));
    for c in [
        "Distribution of amount",
        "Values of state",
        "Distribution of day",
        "of claims<",
    ] {
        assert!(html.contains(c), "{c}");
    }
    // Nothing is fetched: no script, no external URL but the SVG namespace.
    assert!(!html.contains("<script"));
    let urls = html.matches("http").count();
    assert_eq!(urls, html.matches("http://www.w3.org/2000/svg").count());
    assert!(leftovers(dir.path()).is_empty());
}

#[test]
fn chart_mistakes_are_usage_errors_naming_the_problem() {
    let dir = tempdir();
    let (input, _) = sample(dir.path());
    let out = dir.path().join("r.html");
    let o = out.to_str().unwrap();
    for (chart, message) in [
        (
            "bar x=stat",
            "unknown column 'stat' (did you mean 'state'?)",
        ),
        ("bar x=state y=total(amount)", "unknown function 'total'"),
        (
            "bar x=state y=sum(state)",
            "sum needs a number column; 'state' is str",
        ),
        ("pie x=state", "unknown chart kind 'pie'"),
        (
            "histogram x=state",
            "a histogram needs a number or date column",
        ),
        ("line x=state", "a line chart needs a number or date x"),
        (
            "bar x=state y=sum(amount) colour=red",
            "unknown key 'colour'",
        ),
    ] {
        let r = fails(&["report", &input, "--chart", chart, "-o", o], 2);
        assert!(r.stderr.contains(message), "{chart}: {}", r.stderr);
    }
    assert!(!out.exists(), "no page after an error");
    std::fs::write(&out, "keep").unwrap();
    let r = fails(&["report", &input, "-o", o], 2);
    assert!(
        r.stderr.contains("already exists; pass --force"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "keep");
    ok(&["report", &input, "-o", o, "--force"]);
    assert!(std::fs::read_to_string(&out)
        .unwrap()
        .starts_with("<!DOCTYPE html>"));
    assert!(leftovers(dir.path()).is_empty());
}

#[test]
fn a_piped_table_gets_only_its_declared_charts() {
    let mut text = String::from("x,y\n");
    for i in 0..3000 {
        text.push_str(&format!("{i},{}\n", i % 7));
    }
    let dir = tempdir();
    let out = dir.path().join("r.html");
    let r = run_with_stdin(
        &[
            "report",
            "--no-profile",
            "--chart",
            "line x=x y=sum(y) bins=50",
            "-o",
            out.to_str().unwrap(),
        ],
        text.as_bytes(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let html = std::fs::read_to_string(&out).unwrap();
    let figs = figures(&html);
    assert_eq!(figs.len(), 1, "no profile");
    // 3,000 distinct x values: drawn as 50 bins.
    assert_eq!((figs[0].1, figs[0].3), (50, 50));
    assert!(figs[0].4.contains("x (50 bins)"));
    assert!(html.contains("stdin · 3,000 rows"));
}

/// Debian's Chromium, or None (with a reason) when it is not installed;
/// CI must have it (scripts/services.sh install).
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("ETL_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if path.exists() {
        return Some(path);
    }
    if std::env::var("CI").is_ok() {
        panic!(
            "CI must provide chromium ({}): scripts/services.sh install",
            path.display()
        );
    }
    eprintln!(
        "skipped: no chromium at {} (apt-get install chromium)",
        path.display()
    );
    None
}

/// Opens a page headless with every network request failing; returns the
/// DOM after load and the console messages the page logged.
fn open_in_chromium(
    browser: &Path,
    page: &Path,
    screenshot: Option<&Path>,
) -> (String, Vec<String>) {
    let profile = tempdir();
    let mut cmd = Command::new(browser);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--proxy-server=127.0.0.1:9",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1400,2400",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()));
    match screenshot {
        Some(s) => cmd.arg(format!("--screenshot={}", s.display())),
        None => cmd.arg("--dump-dom"),
    };
    let out = cmd
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "chromium: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let console = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_string)
        .collect();
    (String::from_utf8_lossy(&out.stdout).into_owned(), console)
}

#[test]
fn the_page_opens_in_headless_chromium_without_errors() {
    let Some(browser) = chromium() else { return };
    let dir = tempdir();
    // The console check catches a page that logs an error.
    let bad = dir.path().join("bad.html");
    std::fs::write(
        &bad,
        "<html><body><script>throw new Error('on purpose')</script></body></html>",
    )
    .unwrap();
    let (_, console) = open_in_chromium(&browser, &bad, None);
    assert!(
        console.iter().any(|l| l.contains("on purpose")),
        "console not captured: {console:?}"
    );

    let (page, sums) = report(dir.path());
    let (dom, console) = open_in_chromium(&browser, &page, None);
    assert!(console.is_empty(), "console messages: {console:?}");
    assert!(
        dom.contains("<h1>sales.csv</h1>"),
        "{}",
        &dom[..dom.len().min(500)]
    );
    check_charts(&dom, &sums);

    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let shot = artifacts.join("report.png");
    let _ = std::fs::remove_file(&shot);
    std::fs::copy(&page, artifacts.join("report.html")).unwrap();
    let (_, console) = open_in_chromium(&browser, &page, Some(&shot));
    assert!(console.is_empty(), "console messages: {console:?}");
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 50_000,
        "screenshot {} bytes",
        png.len()
    );
    eprintln!("screenshot: {}", shot.display());
}

/// A small pipeline: ingest, a clean stage that rejects rows, a gold
/// group-by, a `report` stage with a declared chart, and a train/score
/// stage with the `predict` op.
fn small_pipeline(dir: &Path, report_stage: &str) -> PathBuf {
    let (input, _) = sample(dir);
    let file = dir.join("p.toml");
    std::fs::write(
        &file,
        format!(
            r#"[pipeline]
name = "sales"
root = "{root}"

[[stage]]
name = "ingest"
ingest = "{input}"
output = "bronze.sales"

[[stage]]
name = "clean"
input = "bronze.sales"
ops = [{{ check = {{ rule = "not-null", column = "claims" }} }}]
output = "silver.sales"
rejects = "silver.sales_rejects"

[[stage]]
name = "by-state"
input = "silver.sales"
ops = [{{ group-by = {{ by = ["state"], aggs = {{ amount = "sum(amount)", rows = "count(*)" }} }} }}]
output = "gold.by_state"
{report_stage}"#,
            root = dir.join("home").display(),
        ),
    )
    .unwrap();
    file
}

#[test]
fn run_pipeline_writes_a_run_report_and_report_stages() {
    let dir = tempdir();
    let stage = format!(
        "\n[[stage]]\nname = \"report-states\"\ninput = \"gold.by_state\"\nreport = {{ path = \"{}\", title = \"States\", charts = [\"bar x=state y=sum(amount)\", {{ kind = \"histogram\", x = \"rows\", bins = 4 }}] }}\n",
        dir.path().join("states.html").display()
    );
    let file = small_pipeline(dir.path(), &stage);
    let run_html = dir.path().join("run.html");
    ok(&[
        "run-pipeline",
        file.to_str().unwrap(),
        "--report",
        run_html.to_str().unwrap(),
    ]);

    let html = std::fs::read_to_string(&run_html).unwrap();
    let figs = figures(&html);
    let timeline = figs.iter().find(|f| f.0 == "timeline").expect("a timeline");
    assert_eq!((timeline.1, timeline.2), (4, 4), "one bar per stage");
    assert!(
        html.contains("<td>clean</td><td>ops</td><td class=\"status-succeeded\">succeeded</td>"),
        "stage table"
    );
    // 1000 rows in, 20 null claims rejected, 980 out: reconciled.
    assert!(html.contains("<td class=\"n\">1,000</td><td class=\"n\">980</td><td class=\"n\">20</td><td class=\"n\">0</td><td><span class=\"ok\">yes</span>"), "clean row");
    assert!(
        html.contains("gold.by_state <span class=\"note\">(8 rows)</span>"),
        "gold section"
    );
    assert!(
        !html.contains("silver.sales <span"),
        "only gold tables are profiled"
    );

    let stage_html = std::fs::read_to_string(dir.path().join("states.html")).unwrap();
    let figs = figures(&stage_html);
    assert_eq!((figs[0].0.as_str(), figs[0].2), ("bar", 8));
    assert_eq!((figs[1].0.as_str(), figs[1].2), ("histogram", 4));

    // A bad chart in a report stage is found by --check, with its line.
    let bad = small_pipeline(dir.path(), "\n[[stage]]\nname = \"r\"\ninput = \"gold.by_state\"\nreport = { path = \"x.html\", charts = [\"pie x=state\"] }\n");
    let r = run(&["run-pipeline", "--check", bad.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "p.toml:26: stage 'r': report: chart 'pie x=state': unknown chart kind 'pie'"
        ),
        "{}",
        r.stderr
    );
}
