//! The HTML report in a real browser: headless Chromium renders the page of the reference
//! fixture and of an upgrade fixture without errors; the screenshot is not blank; the DOM has
//! one host bar per host and one wave column per wave. The screenshots are left in
//! `target/report/` (the README's picture is one of them).
//!
//! Chromium (Debian's `chromium`, which `.ci/run` installs) is required under CI; elsewhere the
//! test says it skipped when no browser is found (set `VKSPLAN_CHROMIUM` to its path).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn browser() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("VKSPLAN_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .filter_map(|name| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|dir| dir.join(name))
                    .find(|path| path.is_file())
            })
        })
        .next()
}

fn vksplan(args: &[&str]) -> Vec<u8> {
    let output = Command::new(env!("CARGO_BIN_EXE_vksplan"))
        .args(args)
        .current_dir(common::root())
        .output()
        .unwrap_or_else(|e| panic!("cannot run vksplan: {e}"));
    assert!(
        output.status.code().is_some_and(|c| c <= 1),
        "vksplan {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// Runs the browser on `page` with `args`; its stdout.
fn chromium(browser: &Path, page: &Path, args: &[&str]) -> String {
    let profile = page.with_extension("profile");
    let output = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", browser.display()));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{}: {stderr}", browser.display());
    // Page errors show as console messages; the page has no script, so there must be none.
    let page_errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Uncaught"))
        .collect();
    assert!(page_errors.is_empty(), "{page_errors:?}");
    let _ = std::fs::remove_dir_all(&profile);
    String::from_utf8_lossy(&output.stdout).to_string()
}

/// Whether a PNG screenshot shows something: more than 1% of its pixels are not background,
/// in more than a handful of colours.
fn assert_not_blank(path: &Path) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder
        .read_info()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut buffer = vec![0; reader.output_buffer_size().unwrap_or(0)];
    let info = reader
        .next_frame(&mut buffer)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let channels = info.color_type.samples();
    let pixels: Vec<&[u8]> = buffer[..info.buffer_size()].chunks(channels).collect();
    let background = pixels[0];
    let drawn = pixels.iter().filter(|p| **p != background).count();
    let colours: std::collections::BTreeSet<&[u8]> = pixels.iter().copied().collect();
    assert!(
        drawn * 100 > pixels.len() && colours.len() > 8,
        "{} looks blank: {drawn} of {} pixels drawn, {} colours",
        path.display(),
        pixels.len(),
        colours.len()
    );
}

/// The page without the time each step took (two runs differ only there).
fn without_seconds(page: &str) -> String {
    page.split("<tr>")
        .map(|row| match row.rsplit_once("<td>") {
            Some((head, last)) if last.ends_with("</td></tr>") && head.contains("<td>") => {
                let value = last.trim_end_matches("</td></tr>");
                if value.contains('.')
                    && value.parse::<f64>().is_ok()
                    && row.matches("<td>").count() == 5
                {
                    format!("{head}<td>-</td></tr>")
                } else {
                    row.to_string()
                }
            }
            _ => row.to_string(),
        })
        .collect::<Vec<_>>()
        .join("<tr>")
}

#[test]
fn the_report_renders_in_chromium_with_a_bar_per_host_and_a_column_per_wave() {
    let browser = browser();
    assert!(
        browser.is_some() || std::env::var_os("CI").is_none(),
        "CI needs chromium for the report test (.ci/run installs it)"
    );
    let out = common::root().join("target/report");
    std::fs::create_dir_all(&out).unwrap_or_else(|e| panic!("{e}"));
    for (name, fixture) in [
        ("reference", "fixtures/reference.json"),
        ("upgrade", "fixtures/cases/upgrade-combined.json"),
    ] {
        let inventory = common::inventory(&common::root().join(fixture));
        let plan: serde_json::Value = serde_json::from_slice(&vksplan(&["plan", fixture]))
            .unwrap_or_else(|e| panic!("{fixture}: {e}"));
        let page = out.join(format!("{name}.html"));
        std::fs::write(&page, vksplan(&["plan", fixture, "--format", "html"]))
            .unwrap_or_else(|e| panic!("{e}"));
        // The same page from the plan document made earlier.
        let plan_file = out.join(format!("{name}.plan.json"));
        std::fs::write(&plan_file, plan.to_string()).unwrap_or_else(|e| panic!("{e}"));
        let again = vksplan(&[
            "report",
            plan_file.to_str().unwrap_or_default(),
            "--topology",
            fixture,
        ]);
        assert_eq!(
            without_seconds(&String::from_utf8_lossy(&again)),
            without_seconds(&std::fs::read_to_string(&page).unwrap_or_default()),
            "`vksplan report` and `plan --format html` differ for {fixture}"
        );
        let html = std::fs::read_to_string(&page).unwrap_or_default();
        assert_eq!(
            html.matches("class=\"host-bar\"").count(),
            inventory.hosts.len(),
            "{fixture}: host bars in the page"
        );
        let Some(browser) = browser.as_deref() else {
            eprintln!("browser part skipped: no chromium (set VKSPLAN_CHROMIUM)");
            continue;
        };
        let dom = chromium(browser, &page, &["--dump-dom"]);
        let hosts = dom.matches("class=\"host-bar\"").count();
        assert_eq!(hosts, inventory.hosts.len(), "{fixture}: host bars");
        let waves = plan["upgrade"]["waves"].as_array().map_or(0, |w| w.len());
        assert_eq!(
            dom.matches("class=\"wave\"").count(),
            waves,
            "{fixture}: wave columns"
        );
        if name == "upgrade" {
            assert!(waves > 0, "{fixture} should have an upgrade sequence");
        }
        let screenshot = out.join(format!("{name}.png"));
        let _ = std::fs::remove_file(&screenshot);
        chromium(
            browser,
            &page,
            &[
                &format!("--screenshot={}", screenshot.display()),
                "--window-size=1280,1800",
            ],
        );
        assert_not_blank(&screenshot);
    }
}

/// Everything a plan document carries is text on the page, never markup: a plan file is input
/// like any other.
#[test]
fn the_report_escapes_what_the_plan_file_says() {
    let out = common::root().join("target/report");
    std::fs::create_dir_all(&out).unwrap_or_else(|e| panic!("{e}"));
    let mut plan: serde_json::Value =
        serde_json::from_slice(&vksplan(&["plan", "fixtures/lab-1-host.json"]))
            .unwrap_or_else(|e| panic!("{e}"));
    plan["objective"]["cost"] = "</td><script>alert(1)</script>".into();
    plan["stats"]["steps"][0]["value"] = "<img src=x onerror=alert(2)>".into();
    plan["diagnosis"] = serde_json::json!([{ "layer": "rule", "subject": "<b>s</b>",
        "constraint": "x", "message": "<i>m</i>", "hint": "h\u{0}" }]);
    let file = out.join("evil.plan.json");
    std::fs::write(&file, plan.to_string()).unwrap_or_else(|e| panic!("{e}"));
    let page = String::from_utf8_lossy(&vksplan(&[
        "report",
        file.to_str().unwrap_or_default(),
        "--topology",
        "fixtures/lab-1-host.json",
    ]))
    .to_string();
    for markup in ["<script", "<img", "<b>s", "<i>m", "\u{0}"] {
        assert!(!page.contains(markup), "`{markup}` reached the page");
    }
    assert!(page.contains("&lt;script&gt;"));
}
