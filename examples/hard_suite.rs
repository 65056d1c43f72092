//! Writes the hard suite (`vksplan_testkit::hard::suite`) as topology files, one per platform:
//! `cargo run --release --example hard_suite -- DIR`. `benches/hard-suite.sh` runs vksplan and
//! the CP-SAT peer on them side by side.

fn main() {
    let Some(directory) = std::env::args().nth(1) else {
        eprintln!("usage: hard_suite DIR");
        std::process::exit(2);
    };
    if let Err(error) = std::fs::create_dir_all(&directory) {
        eprintln!("cannot create `{directory}`: {error}");
        std::process::exit(1);
    }
    for (name, document) in vksplan_testkit::hard::suite() {
        let path = std::path::Path::new(&directory).join(format!("{name}.json"));
        let text = serde_json::to_string_pretty(&document).unwrap_or_default();
        if let Err(error) = std::fs::write(&path, text) {
            eprintln!("cannot write `{}`: {error}", path.display());
            std::process::exit(1);
        }
        println!("{}", path.display());
    }
}
