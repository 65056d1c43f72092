//! Writes other draws of the hard suite's h288-zones (`vksplan_testkit::hard::h288_zones` with
//! seeds 1288, 2288, ...), the same parameters with another seed, as topology files, and of
//! h288-fresh (the same with nothing placed today, seeds 1289, 2289, ...):
//! `cargo run --release --example hard_draws -- DIR [COUNT]` (COUNT defaults to 4). Measure
//! them with `benches/hard-suite.sh`'s method by hand or `benches/seeds.sh`; they show whether
//! what holds on the suite's draw holds on others.

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(directory) = args.next() else {
        eprintln!("usage: hard_draws DIR [COUNT]");
        std::process::exit(2);
    };
    let count: u64 = match args.next().map(|count| count.parse()) {
        None => 4,
        Some(Ok(count)) => count,
        Some(Err(_)) => {
            eprintln!("COUNT must be a whole number");
            std::process::exit(2);
        }
    };
    let draws = (1..=count).flat_map(|draw| {
        let placed = vksplan_testkit::hard::h288_zones(288 + draw * 1000);
        let fresh = vksplan_testkit::hard::Hard {
            placed_fraction: 0.0,
            ..vksplan_testkit::hard::h288_zones(289 + draw * 1000)
        };
        [
            (format!("h288-draw{draw}"), placed),
            (format!("h288-fresh-draw{draw}"), fresh),
        ]
    });
    let documents = draws.map(|(name, params)| (name, vksplan_testkit::hard::generate(&params)));
    match vksplan_testkit::hard::write_all(&directory, documents) {
        Ok(paths) => paths.iter().for_each(|path| println!("{}", path.display())),
        Err(error) => {
            eprintln!("{error}");
            std::process::exit(1);
        }
    }
}
