//! Charts of `corridor` output, drawn without Python: `corridor plot DIR --out FILE.png|svg`.
//!
//! * A **run** directory (`corridor run`: `daily.parquet`, `summary.parquet`) gives the chart
//!   central banks publish on their operational target: the overnight rate's median across
//!   runs with its 5th-95th percentile band, inside the corridor (lending, policy and deposit
//!   facility rates as step lines), with reserves on a second axis.
//! * A **sweep** directory (`corridor sweep`: `points.parquet`, `summary.parquet`, `daily/`)
//!   gives the reserve demand curve: the rate's median and 5th-95th percentile band of each
//!   point's run-days against the point's mean reserves, within the corridor.
//!
//! Reading is separate from drawing (`data` and `chart`), and the drawing is the same code for
//! PNG and SVG. The font (DejaVu Sans, license in `fonts/`) is compiled in, so the output
//! does not depend on the fonts installed on the machine, and the image is written under a
//! temporary name and renamed, so `FILE` is either the complete chart or untouched.

#![warn(missing_docs)]

mod chart;
mod data;
mod error;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::prelude::*;

pub use chart::{HEIGHT, WIDTH};
pub use error::PlotError;

/// The colours of the series (RGB), the same in PNG and SVG, so a reader of the image (or a
/// test) can tell them apart.
pub mod palette {
    /// The overnight rate's median line.
    pub const MEDIAN: [u8; 3] = [0, 61, 125];
    /// Its 5th-95th percentile band.
    pub const BAND: [u8; 3] = [160, 190, 225];
    /// The lending facility rate, the corridor's ceiling.
    pub const LENDING: [u8; 3] = [190, 30, 45];
    /// The policy rate (dashed).
    pub const POLICY: [u8; 3] = [40, 40, 40];
    /// The deposit facility rate, the corridor's floor.
    pub const DEPOSIT: [u8; 3] = [0, 128, 96];
    /// Reserves, on the second axis.
    pub const RESERVES: [u8; 3] = [226, 226, 226];
}

/// The bundled font (Bitstream Vera license with DejaVu's public-domain changes).
static DEJAVU_SANS: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");

/// Image formats, from the output file's extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A bitmap of [`WIDTH`] × [`HEIGHT`] pixels.
    Png,
    /// Vector graphics, with text as text (searchable, editable in a drawing program).
    Svg,
}

impl Format {
    /// The format `path`'s extension names (case-insensitive).
    pub fn of(path: &Path) -> Result<Format, PlotError> {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        match ext.as_str() {
            "png" => Ok(Format::Png),
            "svg" => Ok(Format::Svg),
            _ => Err(PlotError::Extension {
                path: path.to_path_buf(),
                ext,
            }),
        }
    }
}

/// What kind of output directory was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// `corridor run`'s directory.
    Run,
    /// `corridor sweep`'s directory.
    Sweep,
}

impl Source {
    /// Recognises a directory by the files it holds (a sweep also has a `summary.parquet`, so
    /// the sweep's own files are looked for first).
    pub fn detect(dir: &Path) -> Result<Source, PlotError> {
        if !dir.is_dir() {
            return Err(PlotError::NotADirectory {
                path: dir.to_path_buf(),
            });
        }
        let has = |name: &str| dir.join(name).exists();
        if has("points.parquet") && has("summary.parquet") && dir.join("daily").is_dir() {
            return Ok(Source::Sweep);
        }
        if has("daily.parquet") && has("summary.parquet") {
            return Ok(Source::Run);
        }
        let mut found: Vec<String> = fs::read_dir(dir)
            .map_err(|e| PlotError::io(dir, "listing", e))?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        found.sort();
        Err(PlotError::UnknownDirectory {
            path: dir.to_path_buf(),
            found: if found.is_empty() {
                "nothing".into()
            } else {
                found.join(", ")
            },
        })
    }
}

/// What was drawn.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Chart {
    /// The overnight rate in the corridor over `days` business days.
    RateCorridor {
        /// Business days on the horizontal axis.
        days: usize,
    },
    /// The reserve demand curve of a sweep.
    ReserveDemand {
        /// Sweep points drawn.
        points: usize,
        /// Curves (one per combination of the swept keys other than the one along reserves).
        curves: usize,
    },
}

/// Draws the chart of output directory `dir` into `out` (`.png` or `.svg`), replacing `out`
/// if it exists.
pub fn plot(dir: &Path, out: &Path) -> Result<Chart, PlotError> {
    let format = Format::of(out)?;
    let source = Source::detect(dir)?;
    register_font(out)?;
    match source {
        Source::Run => {
            let fan = data::read_rate_fan(dir)?;
            render(out, format, &Drawing::RateFan(&fan))?;
            Ok(Chart::RateCorridor {
                days: fan.dates.len(),
            })
        }
        Source::Sweep => {
            let curves = data::read_demand_curves(dir)?;
            render(out, format, &Drawing::DemandCurves(&curves))?;
            Ok(Chart::ReserveDemand {
                points: curves.points,
                curves: curves.curves.len(),
            })
        }
    }
}

/// plotters' `ab_glyph` text looks fonts up by family name in a process-wide table.
fn register_font(out: &Path) -> Result<(), PlotError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, DEJAVU_SANS).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(PlotError::Draw {
            path: out.to_path_buf(),
            cause: "the bundled font could not be loaded".into(),
        })
    }
}

/// A chart's data, ready to be drawn on any backend.
enum Drawing<'a> {
    RateFan(&'a data::RateFan),
    DemandCurves(&'a data::DemandCurves),
}

impl Drawing<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, plotters::coord::Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        match self {
            Drawing::RateFan(fan) => chart::draw_rate_fan(root, fan),
            Drawing::DemandCurves(curves) => chart::draw_demand_curves(root, curves),
        }
    }
}

/// Draws `drawing` on a backend of `format` and writes the image to `out` atomically.
fn render(out: &Path, format: Format, drawing: &Drawing<'_>) -> Result<(), PlotError> {
    let failed = |e: &dyn std::fmt::Display| PlotError::Draw {
        path: out.to_path_buf(),
        cause: e.to_string(),
    };
    let bytes = match format {
        Format::Png => {
            let mut pixels = vec![0u8; WIDTH as usize * HEIGHT as usize * 3];
            {
                let root =
                    BitMapBackend::with_buffer(&mut pixels, (WIDTH, HEIGHT)).into_drawing_area();
                drawing.draw(&root).map_err(|e| failed(&e))?;
            }
            encode_png(&pixels).map_err(|e| failed(&e))?
        }
        Format::Svg => {
            let mut svg = String::new();
            {
                let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
                drawing.draw(&root).map_err(|e| failed(&e))?;
            }
            svg.into_bytes()
        }
    };
    write_atomically(out, &bytes)
}

fn encode_png(rgb: &[u8]) -> Result<Vec<u8>, png::EncodingError> {
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, WIDTH, HEIGHT);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(rgb)?;
    writer.finish()?;
    Ok(bytes)
}

/// Writes `bytes` to `<dir>/.<name>.tmp-<pid>`, syncs, and renames it to `path`.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), PlotError> {
    let name = path
        .file_name()
        .ok_or_else(|| PlotError::Extension {
            path: path.to_path_buf(),
            ext: String::new(),
        })?
        .to_string_lossy();
    let temp: PathBuf = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = fs::File::create(&temp).map_err(|e| PlotError::io(&temp, "creating", e))?;
        file.write_all(bytes)
            .map_err(|e| PlotError::io(&temp, "writing", e))?;
        file.sync_all()
            .map_err(|e| PlotError::io(&temp, "syncing", e))?;
        fs::rename(&temp, path).map_err(|e| PlotError::io(path, "renaming into", e))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}
