//! Everything the binary shows people goes through here: log lines and
//! errors on stderr (human or JSON), previews, and progress bars (only when
//! stderr is a terminal).

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use etl::error::Error;
use etl::frame::{Frame, FrameData};
use indicatif::{ProgressBar, ProgressStyle};
use polars::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

pub struct Printer {
    pub format: LogFormat,
    pub quiet: bool,
}

impl Printer {
    pub fn new(format: LogFormat, quiet: bool) -> Printer {
        Printer { format, quiet }
    }

    /// One informational line: `etl ingest: wrote 6 rows ...`, or a JSON object.
    pub fn info(&self, command: &str, message: &str, fields: serde_json::Value) {
        if self.quiet {
            return;
        }
        etl::progress::finish();
        let line = match self.format {
            LogFormat::Human => format!("etl {command}: {message}"),
            LogFormat::Json => {
                let mut obj = serde_json::json!({
                    "ts": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    "level": "info",
                    "command": command,
                    "message": message,
                });
                if let (Some(o), serde_json::Value::Object(extra)) = (obj.as_object_mut(), fields) {
                    o.extend(extra);
                }
                obj.to_string()
            }
        };
        let _ = writeln!(std::io::stderr(), "{}", etl::location::redact(&line));
    }

    pub fn error(&self, e: &Error) {
        etl::progress::finish();
        let line = match self.format {
            LogFormat::Human => format!("etl: error: {}", e.message),
            LogFormat::Json => serde_json::json!({
                "ts": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "level": "error",
                "message": e.message,
                "exit_code": e.kind.exit_code(),
            })
            .to_string(),
        };
        let _ = writeln!(std::io::stderr(), "{}", etl::location::redact(&line));
    }
}

/// Prints a table as text on stdout, sized to the terminal.
pub fn print_table(df: &DataFrame) -> etl::Result<()> {
    etl::progress::finish();
    let mut out = std::io::stdout().lock();
    writeln!(out, "{df}")?;
    Ok(())
}

/// How polars draws tables (it reads these variables when it formats one).
/// Called once at startup, before any other thread exists: setting the
/// environment while other threads may read it is undefined behaviour.
pub fn configure_table_format() {
    let width = terminal_width().unwrap_or(120);
    std::env::set_var("POLARS_TABLE_WIDTH", width.to_string());
    std::env::set_var("POLARS_FMT_MAX_COLS", "40");
    std::env::set_var("POLARS_FMT_MAX_ROWS", "50");
    std::env::set_var("POLARS_FMT_STR_LEN", "40");
    std::env::set_var("POLARS_FMT_TABLE_HIDE_DATAFRAME_SHAPE_INFORMATION", "1");
}

fn terminal_width() -> Option<usize> {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .or_else(|| {
            let mut ws = libc::winsize {
                ws_row: 0,
                ws_col: 0,
                ws_xpixel: 0,
                ws_ypixel: 0,
            };
            // SAFETY: TIOCGWINSZ fills the struct we pass; stdout may not be a tty, then it fails.
            let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0;
            (ok && ws.ws_col > 0).then_some(ws.ws_col as usize)
        })
}

/// What a table-producing command shows on a terminal instead of bytes.
pub fn preview(mut frame: Frame, rows: usize) -> etl::Result<()> {
    let schema = frame.schema()?;
    let known_rows = frame.rows;
    let head = frame.limit(rows);
    let df = collect(head)?;
    etl::progress::finish();
    let mut out = std::io::stdout().lock();
    let shape = match known_rows {
        Some(n) => format!("{n} rows × {} columns", schema.len()),
        None => format!("{} columns", schema.len()),
    };
    writeln!(out, "{shape}")?;
    let types: Vec<String> = schema
        .iter()
        .map(|(n, t)| format!("{n}: {}", etl::dtype::display_dtype(t)))
        .collect();
    writeln!(out, "schema: {}", types.join(", "))?;
    drop(out);
    print_table(&df)?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "(a preview: stdout is a terminal. Write a file with -o FILE, choose a format with --to FORMAT, or pipe into another etl command.)"
    )?;
    Ok(())
}

/// Materialises a (small) frame.
pub fn collect(frame: Frame) -> etl::Result<DataFrame> {
    let explainers = frame.explainers.clone();
    let explain = |e: Error| explainers.iter().find_map(|x| x(&e)).unwrap_or(e);
    match frame.data {
        FrameData::Lazy(lf) => lf.collect().map_err(|e| explain(e.into())),
        FrameData::Batches(stream) => {
            let mut all = DataFrame::empty_with_schema(&stream.schema);
            for b in stream.batches {
                all.vstack_mut_owned(b.map_err(explain)?)?;
            }
            Ok(all)
        }
    }
}

/// Human sizes: 1.9 KB, 12.3 MB.
pub fn human_bytes(n: u64) -> String {
    let units = ["B", "KB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1024.0 && i < units.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", units[i])
    }
}

/// Progress bars on stderr, drawn only on a terminal and only for work
/// that is big (several MB) or slow (over a second).
struct Bars {
    state: Mutex<BarState>,
}

struct BarState {
    bar: Option<ProgressBar>,
    label: String,
    total: Option<u64>,
    started: Instant,
}

const BIG_INPUT: u64 = 8 << 20;

/// While several pipeline stages run at once, one bar cannot say whose
/// work it shows: bars are then not drawn.
static PAUSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub fn pause_progress(paused: bool) {
    PAUSED.store(paused, std::sync::atomic::Ordering::Relaxed);
    if paused {
        etl::progress::finish();
    }
}

fn paused() -> bool {
    PAUSED.load(std::sync::atomic::Ordering::Relaxed)
}

impl etl::progress::Progress for Bars {
    fn start(&self, label: &str, total_bytes: Option<u64>) {
        let mut s = self.state.lock().unwrap();
        if let Some(b) = s.bar.take() {
            b.finish_and_clear();
        }
        s.label = label.to_string();
        s.total = total_bytes;
        s.started = Instant::now();
        if total_bytes.is_some_and(|t| t >= BIG_INPUT) && !paused() {
            let bar = ProgressBar::new(total_bytes.unwrap_or(0));
            bar.set_style(
                ProgressStyle::with_template(
                    "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.set_message(label.to_string());
            s.bar = Some(bar);
        }
    }

    fn bytes(&self, done: u64) {
        if let Some(b) = &self.state.lock().unwrap().bar {
            b.set_position(done);
        }
    }

    fn rows(&self, done: u64) {
        let mut s = self.state.lock().unwrap();
        if s.bar.is_none() && s.started.elapsed() > Duration::from_secs(1) && !paused() {
            let bar = ProgressBar::new_spinner();
            bar.enable_steady_tick(Duration::from_millis(120));
            s.bar = Some(bar);
        }
        if let Some(b) = &s.bar {
            if b.length().is_none() {
                b.set_message(format!("{done} rows written"));
            }
        }
    }

    fn message(&self, msg: &str) {
        let mut s = self.state.lock().unwrap();
        s.label = msg.to_string();
        if let Some(b) = &s.bar {
            b.set_message(msg.to_string());
        }
    }

    fn finish(&self) {
        if let Some(b) = self.state.lock().unwrap().bar.take() {
            b.finish_and_clear();
        }
    }
}

pub fn install_progress(printer: &Printer) {
    if printer.quiet || printer.format == LogFormat::Json || !std::io::stderr().is_terminal() {
        return;
    }
    etl::progress::install(Box::new(Bars {
        state: Mutex::new(BarState {
            bar: None,
            label: String::new(),
            total: None,
            started: Instant::now(),
        }),
    }));
}

/// On SIGINT or SIGTERM: remove temporary outputs, then exit 130.
pub fn cleanup_on_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let rt = etl::runtime::get();
    // Registered now, in the runtime's context, so that no signal arriving
    // after this call is missed.
    let _context = rt.enter();
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return;
    };
    rt.spawn(async move {
        {
            tokio::select! {
                _ = int.recv() => {},
                _ = term.recv() => {},
            }
            etl::progress::finish();
            etl::cleanup::interrupted();
            let _ = writeln!(
                std::io::stderr(),
                "etl: interrupted; temporary files removed"
            );
            std::process::exit(130);
        }
    });
}

static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

/// Library panics are caught and turned into errors; the default hook
/// would print a backtrace first. This one only remembers the message.
pub fn quiet_panics() {
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        if let Ok(mut last) = LAST_PANIC.lock() {
            *last = Some(format!("{msg}{at}"));
        }
    }));
}

/// The error for a panic that reached the top: an internal error, reported
/// with its message so it can be fixed.
pub fn panic_error() -> Error {
    let what = LAST_PANIC
        .lock()
        .ok()
        .and_then(|l| l.clone())
        .unwrap_or_else(|| "unknown".into());
    Error::data(format!("internal error ({what}); the input may be malformed. Please report this with the input that caused it"))
}
