//! The run report of `run-pipeline`: stages on a timeline with durations,
//! rows in, out and rejected per stage, reconciliation, and the gold
//! tables' charts. It reads the run manifest's JSON, so it needs nothing
//! from the pipeline runner but that document.

use std::fmt::Write;

use serde::Deserialize;

use super::svg::{esc, number};
use crate::error::{Error, Result};

/// The parts of a run manifest the report shows.
#[derive(Debug, Clone, Deserialize)]
pub struct RunInfo {
    pub pipeline: String,
    #[serde(default)]
    pub file: String,
    pub run_id: String,
    #[serde(default)]
    pub run_date: String,
    pub started: String,
    #[serde(default)]
    pub seconds: f64,
    pub status: String,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub stages: Vec<StageInfo>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StageInfo {
    pub name: String,
    pub kind: String,
    pub status: String,
    #[serde(default)]
    pub started: Option<String>,
    #[serde(default)]
    pub seconds: f64,
    #[serde(default)]
    pub rows_in: Option<u64>,
    #[serde(default)]
    pub rows_out: Option<u64>,
    #[serde(default)]
    pub rows_rejected: u64,
    #[serde(default)]
    pub rows_removed_by_ops: i64,
    #[serde(default)]
    pub error: Option<String>,
}

impl RunInfo {
    pub fn from_manifest(manifest: &serde_json::Value) -> Result<RunInfo> {
        RunInfo::deserialize(manifest).map_err(|e| Error::data(format!("run manifest: {e}")))
    }
}

fn millis(ts: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(ts)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// Whether a stage's rows add up: in = out + rejected + removed by ops.
pub fn reconciles(s: &StageInfo) -> Option<bool> {
    let (i, o) = (s.rows_in?, s.rows_out?);
    Some(i as i64 == o as i64 + s.rows_rejected as i64 + s.rows_removed_by_ops)
}

/// The run section: summary cards, the timeline and the stage table.
pub fn run_section(run: &RunInfo) -> String {
    let mut s = String::new();
    let ok = run
        .stages
        .iter()
        .filter(|st| st.status == "succeeded")
        .count();
    let rejected: u64 = run.stages.iter().map(|st| st.rows_rejected).sum();
    let _ = write!(
        s,
        "<section id=\"run\"><h2>Run</h2><div class=\"cards\"><div class=\"card\"><b class=\"status-{}\">{}</b><span>status</span></div><div class=\"card\"><b>{:.2} s</b><span>duration</span></div><div class=\"card\"><b>{ok} / {}</b><span>stages succeeded</span></div><div class=\"card\"><b>{}</b><span>rows rejected</span></div></div>",
        esc(&run.status),
        esc(&run.status),
        run.seconds,
        run.stages.len(),
        number(rejected as f64)
    );
    if let Some(e) = &run.error {
        let _ = write!(s, "<p class=\"bad\">{}</p>", esc(e));
    }
    s.push_str(&timeline(run));
    s.push_str("<h3>Rows per stage</h3><table class=\"stages\"><thead><tr><th>stage</th><th>kind</th><th>status</th><th>seconds</th><th>rows in</th><th>rows out</th><th>rejected</th><th>removed by ops</th><th>reconciled</th></tr></thead><tbody>");
    let n = |v: Option<u64>| v.map(|v| number(v as f64)).unwrap_or_else(|| "–".into());
    for st in &run.stages {
        let rec = match reconciles(st) {
            Some(true) => "<span class=\"ok\">yes</span>".to_string(),
            Some(false) => "<span class=\"bad\">NO</span>".to_string(),
            None => "–".to_string(),
        };
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td class=\"status-{}\">{}</td><td class=\"n\">{:.2}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{rec}</td></tr>",
            esc(&st.name),
            esc(&st.kind),
            esc(&st.status),
            esc(&st.status),
            st.seconds,
            n(st.rows_in),
            n(st.rows_out),
            number(st.rows_rejected as f64),
            number(st.rows_removed_by_ops as f64),
        );
        if let Some(e) = &st.error {
            let _ = write!(
                s,
                "<tr><td></td><td colspan=\"8\" class=\"bad\">{}</td></tr>",
                esc(e)
            );
        }
    }
    s.push_str("</tbody></table></section>");
    s
}

/// Stages as bars from their start to their end, on one time axis.
fn timeline(run: &RunInfo) -> String {
    const W: f64 = 860.0;
    const ROW: f64 = 24.0;
    let t0 = millis(&run.started).unwrap_or(0);
    let spans: Vec<(f64, f64)> = run
        .stages
        .iter()
        .map(|st| {
            let start = st
                .started
                .as_deref()
                .and_then(millis)
                .map(|t| (t - t0) as f64 / 1000.0)
                .unwrap_or(0.0);
            (start.max(0.0), st.seconds)
        })
        .collect();
    let end = spans
        .iter()
        .map(|(a, d)| a + d)
        .fold(run.seconds, f64::max)
        .max(0.001);
    let longest = run
        .stages
        .iter()
        .map(|s| s.name.chars().count())
        .max()
        .unwrap_or(5);
    let left = (longest as f64 * 6.8 + 16.0).clamp(80.0, 240.0);
    let right = W - 70.0;
    let x = |v: f64| left + v / end * (right - left);
    let height = 16.0 + ROW * run.stages.len() as f64 + 44.0;
    let mut s = String::new();
    let summary = format!(
        "{} stages over {:.2} seconds; the longest, {}, took {:.2} s.",
        run.stages.len(),
        run.seconds,
        run.stages
            .iter()
            .max_by(|a, b| a.seconds.total_cmp(&b.seconds))
            .map(|st| st.name.as_str())
            .unwrap_or("–"),
        run.stages.iter().map(|st| st.seconds).fold(0.0, f64::max)
    );
    let _ = write!(
        s,
        "<figure class=\"chart\" id=\"timeline\" data-kind=\"timeline\" data-marks=\"{}\"><h3>Timeline</h3><svg class=\"chart-svg\" role=\"img\" aria-labelledby=\"timeline-t timeline-d\" viewBox=\"0 0 {W} {height}\" width=\"{W}\" height=\"{height}\" xmlns=\"http://www.w3.org/2000/svg\"><title id=\"timeline-t\">Stages of run {} on a timeline</title><desc id=\"timeline-d\">{}</desc>",
        run.stages.len(),
        esc(&run.run_id),
        esc(&summary)
    );
    let y_end = 8.0 + ROW * run.stages.len() as f64;
    for i in 0..=4 {
        let v = end * i as f64 / 4.0;
        let _ = write!(s, "<line class=\"grid\" x1=\"{:.1}\" y1=\"8\" x2=\"{:.1}\" y2=\"{y_end:.1}\"/><text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{:.2} s</text>", x(v), x(v), x(v), y_end + 14.0, v);
    }
    for (i, (st, (a, d))) in run.stages.iter().zip(&spans).enumerate() {
        let y = 8.0 + ROW * i as f64;
        let w = (x(a + d) - x(*a)).max(1.5);
        let _ = write!(
            s,
            "<g class=\"mark\"><rect class=\"bar {}\" x=\"{:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{:.1}\"><title>{} ({}): {}, {:.3} s from {:.3} s</title></rect><text class=\"label\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text><text class=\"value\" x=\"{:.1}\" y=\"{:.1}\">{:.2} s</text></g>",
            esc(&st.status),
            x(*a),
            y + 4.0,
            ROW - 8.0,
            esc(&st.name),
            esc(&st.kind),
            esc(&st.status),
            d,
            a,
            left - 6.0,
            y + ROW / 2.0 + 4.0,
            esc(&st.name),
            x(*a) + w + 4.0,
            y + ROW / 2.0 + 4.0,
            d
        );
    }
    let _ = write!(
        s,
        "<text class=\"axis-label\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">seconds since the run started</text></svg><figcaption>{}</figcaption></figure>",
        (left + right) / 2.0,
        height - 8.0,
        esc(&summary)
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_json_becomes_a_run_section() {
        let m = serde_json::json!({
            "pipeline": "p", "file": "p.toml", "run_id": "r1", "run_date": "2026-01-01",
            "started": "2026-01-01T00:00:00.000Z", "finished": null, "seconds": 3.0,
            "status": "failed", "host": "h", "pid": 1, "error": "stage 'b': <bad>",
            "stages": [
                {"name": "a", "kind": "ingest", "status": "succeeded", "started": "2026-01-01T00:00:00.500Z",
                 "seconds": 1.0, "inputs": [], "outputs": [], "rows_in": 10, "rows_out": 8,
                 "rows_rejected": 2, "rows_removed_by_ops": 0},
                {"name": "b", "kind": "ops", "status": "failed", "seconds": 0.5, "inputs": [], "outputs": [],
                 "rows_in": 8, "rows_out": 3, "rows_rejected": 0, "rows_removed_by_ops": 0, "error": "boom"}
            ]
        });
        let run = RunInfo::from_manifest(&m).unwrap();
        assert_eq!(reconciles(&run.stages[0]), Some(true));
        assert_eq!(reconciles(&run.stages[1]), Some(false));
        let html = run_section(&run);
        assert_eq!(html.matches("<rect class=\"bar").count(), 2);
        assert!(
            html.contains("&lt;bad&gt;") && html.contains(">NO<"),
            "{html}"
        );
    }
}
