//! A librdkafka mock Kafka cluster in a process of its own, for end-to-end tests that need a broker that outlives
//! the Weir process they kill.
//!
//! ```text
//! mock_kafka [--topic NAME:PARTITIONS]...
//! ```
//! Prints `bootstrap.servers` on the first line of stdout, then runs until stdin is closed or the process is
//! killed; the commands `down` and `up` on stdin stop and restart its brokers (for outage tests). The mock cluster
//! has no admin API, so every topic the test needs (including Weir's command topic,
//! processing log and sinks) is created here, up front.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use weir::topics::kafka::MockKafka;

fn main() -> ExitCode {
    let mut topics = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let spec = match (arg.as_str(), args.next()) {
            ("--topic", Some(spec)) => spec,
            _ => {
                eprintln!("usage: mock_kafka [--topic NAME:PARTITIONS]...");
                return ExitCode::from(2);
            }
        };
        let parsed = spec
            .rsplit_once(':')
            .and_then(|(name, n)| n.parse::<u32>().ok().map(|n| (name.to_owned(), n)));
        match parsed {
            Some(topic) => topics.push(topic),
            None => {
                eprintln!("--topic wants NAME:PARTITIONS, got '{spec}'");
                return ExitCode::from(2);
            }
        }
    }
    let mock = match MockKafka::start(1) {
        Ok(mock) => mock,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    for (name, partitions) in &topics {
        if let Err(e) = mock.create_topic(name, *partitions, 1) {
            eprintln!("cannot create topic {name}: {e}");
            return ExitCode::FAILURE;
        }
    }
    let mut stdout = std::io::stdout();
    if writeln!(stdout, "{}", mock.bootstrap_servers())
        .and_then(|()| stdout.flush())
        .is_err()
    {
        return ExitCode::FAILURE;
    }
    // Runs until the test closes stdin (or kills the process). `down` and `up` stop and restart the brokers (an
    // outage that keeps the data); each command is answered with `ok` or an error on stdout.
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let answer = match line.trim() {
            "down" => mock.set_brokers_up(false),
            "up" => mock.set_brokers_up(true),
            "" => continue,
            other => Err(weir::topics::TopicError::Kafka(format!("unknown command '{other}'"))),
        };
        let reply = match answer {
            Ok(()) => "ok".to_owned(),
            Err(e) => format!("error: {e}"),
        };
        if writeln!(stdout, "{reply}").and_then(|()| stdout.flush()).is_err() {
            break;
        }
    }
    ExitCode::SUCCESS
}
