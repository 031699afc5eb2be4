//! A client and a server `Connection` talking through two byte buffers:
//! the whole engine with no socket. `cargo run --example in_memory`
use wsmachine::{CloseCode, Config, Connection, Event, OsRandom};

/// Moves everything `from` wants to write into `to`, in 3-byte writes to show
/// that partial writes are ordinary.
fn shuttle(from: &mut Connection, to: &mut Connection) {
    while !from.pending_output().is_empty() {
        let n = from.pending_output().len().min(3);
        to.receive(&from.pending_output()[..n]);
        from.advance_output(n);
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut client = Connection::open_client(Config::default(), OsRandom::new());
    let mut server = Connection::open_server(Config::default());

    client.send_text("hello from the client")?;
    client.send_ping(b"still there?")?;
    client.send_binary(&[0xDE, 0xAD, 0xBE, 0xEF])?;
    client.close(CloseCode::NORMAL, "done")?;
    shuttle(&mut client, &mut server);

    while let Some((event, sender)) = server.next_event_with_sender()? {
        println!("server got {event:?}");
        if let Event::Message(message) = event {
            sender.send(message)?; // echo
        }
    }
    shuttle(&mut server, &mut client);
    while let Some(event) = client.next_event()? {
        println!("client got {event:?}");
    }
    println!("client {:?}, server {:?}", client.state(), server.state());
    Ok(())
}
