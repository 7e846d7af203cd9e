//! `corridor plot` end to end: charts of a real run and a real sweep, as PNG and SVG, read back
//! and checked for what they must show; and the errors for what cannot be plotted.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use common::*;
use corridor_plot::{HEIGHT, WIDTH, palette};

fn corridor(args: &[&str]) -> Output {
    Command::new(corridor_bin())
        .args(args)
        .env("CI", "true")
        .output()
        .expect("corridor runs")
}

fn ok(out: Output) -> Output {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn hex(c: [u8; 3]) -> String {
    format!("#{:02X}{:02X}{:02X}", c[0], c[1], c[2])
}

/// The polylines of one colour inside the plot area (the legend's samples are below it), as
/// lists of (x, y) in SVG pixels (y grows downwards).
fn polylines(svg: &roxmltree::Document, colour: [u8; 3]) -> Vec<Vec<(f64, f64)>> {
    let legend_top = f64::from(HEIGHT) - 100.0;
    svg.descendants()
        .filter(|n| n.has_tag_name("polyline") && n.attribute("stroke") == Some(&hex(colour)))
        .map(|n| {
            n.attribute("points")
                .unwrap()
                .split_whitespace()
                .map(|p| {
                    let (x, y) = p.split_once(',').unwrap();
                    (x.parse().unwrap(), y.parse().unwrap())
                })
                .collect::<Vec<(f64, f64)>>()
        })
        .filter(|pts| pts.iter().all(|&(_, y)| y < legend_top))
        .collect()
}

fn texts(svg: &roxmltree::Document) -> String {
    svg.descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Decodes a PNG, checking the signature and size; returns its RGB pixels.
fn png_pixels(path: &Path) -> Vec<[u8; 3]> {
    let bytes = fs::read(path).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (WIDTH, HEIGHT));
    assert_eq!(info.color_type, png::ColorType::Rgb);
    buf[..info.buffer_size()]
        .chunks_exact(3)
        .map(|p| [p[0], p[1], p[2]])
        .collect()
}

fn count(pixels: &[[u8; 3]], colour: [u8; 3]) -> usize {
    pixels.iter().filter(|&&p| p == colour).count()
}

#[test]
fn a_run_plots_the_rate_inside_the_corridor_with_reserves() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let scenario = repo().join("scenarios/corridor_symmetric.toml");
    ok(corridor(&[
        "run",
        scenario.to_str().unwrap(),
        "--runs",
        "6",
        "--seed",
        "11",
        "--set",
        "calendar.business_days=40",
        "--out",
        dir.to_str().unwrap(),
    ]));

    let png = tmp.path().join("rate.png");
    let out = ok(corridor(&[
        "plot",
        dir.to_str().unwrap(),
        "--out",
        png.to_str().unwrap(),
    ]));
    assert!(String::from_utf8_lossy(&out.stderr).contains("40 business days"));
    let pixels = png_pixels(&png);
    // The band and reserves are filled areas, the corridor bounds long lines: each colour
    // covers many pixels exactly.
    for (name, colour, at_least) in [
        ("band", palette::BAND, 5_000),
        ("reserves", palette::RESERVES, 5_000),
        ("lending rate", palette::LENDING, 1_000),
        ("deposit rate", palette::DEPOSIT, 1_000),
        ("median", palette::MEDIAN, 500),
    ] {
        let n = count(&pixels, colour);
        assert!(n >= at_least, "{name}: {n} pixels of {}", hex(colour));
    }

    let svg_path = tmp.path().join("rate.SVG");
    ok(corridor(&[
        "plot",
        dir.to_str().unwrap(),
        "--out",
        svg_path.to_str().unwrap(),
    ]));
    let text = fs::read_to_string(&svg_path).unwrap();
    let svg = roxmltree::Document::parse(&text).expect("the SVG is well-formed XML");
    let labels = texts(&svg);
    for label in [
        "Overnight rate in the corridor",
        "corridor_symmetric: 6 runs",
        "Lending facility rate",
        "Policy rate",
        "Deposit facility rate",
        "Reserves (SEK million)",
        "Basis points",
        "seed 11",
    ] {
        assert!(
            labels.contains(label),
            "label {label:?} missing from:\n{labels}"
        );
    }
    // corridor_symmetric keeps its rates (150/75/0 bp): the ceiling and the floor are single
    // horizontal lines, and every day's median lies strictly between them (the rate stays in
    // the corridor, and the drawing puts it there).
    let flat = |colour| {
        let lines = polylines(&svg, colour);
        assert_eq!(lines.len(), 1, "one line of {}", hex(colour));
        let ys: Vec<f64> = lines[0].iter().map(|p| p.1).collect();
        assert!(ys.iter().all(|&y| y == ys[0]));
        ys[0]
    };
    let (ceiling, floor) = (flat(palette::LENDING), flat(palette::DEPOSIT));
    assert!(
        ceiling < floor,
        "the lending rate is drawn above the deposit rate"
    );
    let median: Vec<(f64, f64)> = polylines(&svg, palette::MEDIAN).concat();
    assert!(median.len() >= 30, "a median point for (nearly) every day");
    assert!(median.iter().all(|&(_, y)| ceiling < y && y < floor));
    // Days run left to right.
    assert!(median.windows(2).all(|w| w[0].0 < w[1].0));
}

#[test]
fn a_sweep_plots_a_downward_sloping_reserve_demand_curve() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("sweep");
    let scenario = repo().join("scenarios/poole_benchmark.toml");
    ok(corridor(&[
        "sweep",
        scenario.to_str().unwrap(),
        "--grid",
        "central_bank.reserve_target_per_bank=-150:150:7",
        "--runs",
        "3",
        "--set",
        "calendar.business_days=15",
        "--set",
        "central_bank.fine_tuning.forecast_error_sd=5000",
        "--out",
        dir.to_str().unwrap(),
    ]));
    let svg_path = tmp.path().join("demand.svg");
    let out = ok(corridor(&[
        "plot",
        dir.to_str().unwrap(),
        "--out",
        svg_path.to_str().unwrap(),
    ]));
    assert!(String::from_utf8_lossy(&out.stderr).contains("7 points, 1 curve"));
    let text = fs::read_to_string(&svg_path).unwrap();
    let svg = roxmltree::Document::parse(&text).unwrap();
    let labels = texts(&svg);
    for label in [
        "Reserve demand curve",
        "central_bank.reserve_target_per_bank",
        "Reserves (EUR million)",
        "Lending facility rate",
        "Deposit facility rate",
    ] {
        assert!(
            labels.contains(label),
            "label {label:?} missing from:\n{labels}"
        );
    }
    // Poole: the more reserves, the lower the rate. Points go left to right with reserves
    // and down the chart (SVG y grows downwards) with the rate.
    let curve = polylines(&svg, palette::MEDIAN);
    assert_eq!(curve.len(), 1);
    let pts = &curve[0];
    assert_eq!(pts.len(), 7);
    assert!(pts.windows(2).all(|w| w[0].0 < w[1].0), "{pts:?}");
    assert!(pts.windows(2).all(|w| w[0].1 < w[1].1), "{pts:?}");
    // ... between the corridor's bounds.
    let bound = |c| polylines(&svg, c).concat()[0].1;
    let (ceiling, floor) = (bound(palette::LENDING), bound(palette::DEPOSIT));
    assert!(pts.iter().all(|&(_, y)| ceiling <= y && y <= floor));

    let png = tmp.path().join("demand.png");
    ok(corridor(&[
        "plot",
        dir.to_str().unwrap(),
        "--out",
        png.to_str().unwrap(),
    ]));
    let pixels = png_pixels(&png);
    assert!(count(&pixels, palette::MEDIAN) >= 500);
    assert!(count(&pixels, palette::LENDING) >= 1_000);
}

#[test]
fn what_cannot_be_plotted_is_refused_with_a_reason_and_no_file() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty");
    fs::create_dir(&empty).unwrap();
    fs::write(empty.join("notes.txt"), "not output").unwrap();
    let png = tmp.path().join("chart.png");
    let cases: [(&Path, &Path, &[&str]); 4] = [
        (
            &empty,
            &png,
            &["neither a corridor run", "daily.parquet", "notes.txt"],
        ),
        (&tmp.path().join("missing"), &png, &["is not a directory"]),
        (
            &empty,
            &tmp.path().join("chart.jpg"),
            &["\"jpg\"", ".png or .svg"],
        ),
        (&empty, &tmp.path().join("chart"), &[".png or .svg"]),
    ];
    for (dir, out_path, expected) in cases {
        let out = corridor(&[
            "plot",
            dir.to_str().unwrap(),
            "--out",
            out_path.to_str().unwrap(),
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{dir:?} -> {out_path:?} succeeded");
        for e in expected {
            assert!(stderr.contains(e), "{e:?} missing from: {stderr}");
        }
        assert!(!out_path.exists(), "no image is written on error");
    }
    assert_eq!(
        fs::read_dir(tmp.path()).unwrap().count(),
        1,
        "no temporary file is left behind"
    );
}
