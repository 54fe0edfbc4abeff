//! Prints the path of a built example actor: `example-path async-actor`.
//! With no argument, lists every example with its path.

use std::process::ExitCode;

fn main() -> ExitCode {
    match std::env::args().nth(1) {
        None => {
            for (name, path) in wactor_examples::ALL {
                println!("{name}\t{path}");
            }
            ExitCode::SUCCESS
        }
        Some(name) => match wactor_examples::path(&name) {
            Some(path) => {
                println!("{path}");
                ExitCode::SUCCESS
            }
            None => {
                let names: Vec<_> = wactor_examples::ALL.iter().map(|(n, _)| *n).collect();
                eprintln!(
                    "no example called {name:?}; there are: {}",
                    names.join(", ")
                );
                ExitCode::FAILURE
            }
        },
    }
}
