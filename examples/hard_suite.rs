//! Writes the hard suite (`vksplan_testkit::hard::suite`) as topology files, one per platform:
//! `cargo run --release --example hard_suite -- DIR`. `benches/hard-suite.sh` runs vksplan and
//! the CP-SAT peer on them side by side.

fn main() {
    let Some(directory) = std::env::args().nth(1) else {
        eprintln!("usage: hard_suite DIR");
        std::process::exit(2);
    };
    let platforms = vksplan_testkit::hard::suite()
        .into_iter()
        .map(|(name, document)| (name.to_string(), document));
    match vksplan_testkit::hard::write_all(&directory, platforms) {
        Ok(paths) => paths.iter().for_each(|path| println!("{}", path.display())),
        Err(error) => {
            eprintln!("{error}");
            std::process::exit(1);
        }
    }
}
