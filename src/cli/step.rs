//! What `clean` and `transform` share: flags to one engine step
//! (`etl::step`), and the summary line.

use std::io::IsTerminal;

use clap::ArgMatches;
use etl::error::Result;
use etl::sink::Destination;
use etl::source::Provenance;
use etl::step::{Input, Output, RejectPolicy, Step};

use super::args::{OutputPlan, ReadArgs, WriteArgs};
use super::ops_args::{ops_in_order, StepArgs};
use super::output::{human_bytes, preview, Printer};

/// Reads the input, applies the ops (each first given to `adjust`, which
/// lets a command fill in its own defaults) and writes like `ingest`.
pub fn run(
    command: &str,
    step: &StepArgs,
    read: &ReadArgs,
    write: &WriteArgs,
    matches: &ArgMatches,
    printer: &Printer,
    adjust: impl Fn(&mut etl::ops::Op),
) -> Result<()> {
    let started = std::time::Instant::now();
    let plan = write.plan(std::io::stdout().is_terminal())?;
    let read = read.to_options()?;
    let mut ops = ops_in_order(step, matches)?;
    ops.iter_mut().for_each(adjust);
    let rejects = RejectPolicy {
        output: step.rejects.as_deref().map(rejects_request).transpose()?,
        max_rejects: step.max_rejects,
        max_reject_pct: step.max_reject_pct,
    };
    let input = step
        .input
        .as_deref()
        .or(step.input_flag.as_deref())
        .unwrap_or("-");
    let location = etl::Location::parse(input)?;
    let op_count = ops.len();
    let (output, req) = match plan {
        OutputPlan::Preview => (Output::Frame, None),
        OutputPlan::Write(req) => (Output::Write(req.clone()), Some(req)),
    };
    let outcome = etl::step::run(Step {
        input: Input::Locations {
            locations: vec![location],
            read,
            provenance: Provenance::default(),
        },
        ops,
        rejects,
        output,
    })?;
    match (outcome.frame, outcome.written, req) {
        (Some(frame), _, _) => preview(frame, 10),
        (_, Some(s), Some(req)) => {
            let target = match &req.dest {
                Destination::Path(p) => format!("wrote {} ({})", p.display(), human_bytes(s.bytes)),
                Destination::Remote(u) => format!(
                    "wrote {} ({})",
                    etl::location::redact(u),
                    human_bytes(s.bytes)
                ),
                Destination::Stdout => "wrote to stdout".to_string(),
            };
            let rows_in = outcome
                .rows_in
                .map(|r| r.to_string())
                .unwrap_or_else(|| "?".into());
            printer.info(
                command,
                &format!(
                    "{rows_in} rows in, {} out, {} rejected; {op_count} ops; {target} in {:.2}s",
                    s.rows,
                    outcome.rejected,
                    started.elapsed().as_secs_f64()
                ),
                serde_json::json!({
                    "rows_in": rows_in, "rows_out": s.rows, "rejected": outcome.rejected, "ops": op_count,
                    "output": target, "bytes": s.bytes, "seconds": started.elapsed().as_secs_f64(),
                }),
            );
            Ok(())
        }
        _ => unreachable!("a write step reports what it wrote"),
    }
}

fn rejects_request(location: &str) -> Result<etl::sink::WriteRequest> {
    let args = WriteArgs {
        output: Some(location.to_string()),
        to: None,
        compression: None,
        row_group_size: None,
        split: None,
        force: true,
        out_delimiter: None,
        no_out_header: false,
    };
    match args.plan(false)? {
        OutputPlan::Write(req) => Ok(req),
        OutputPlan::Preview => unreachable!("a file output is never a preview"),
    }
}
