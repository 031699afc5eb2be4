//! Command-line pieces the examples share: the liveness flags, the TLS
//! flags, and the echo servers' whole command line.
#![allow(dead_code)]

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use wsmachine::{Config, OriginPolicy};

/// The help text for the servers' timer flags.
pub const SERVER_TIMER_HELP: &str = "\
  --ping-interval S   keepalive: ping after S seconds with nothing received (default 20; 0: off)
  --ping-timeout S    drop the peer if nothing arrives S seconds after a ping (default 20; 0: off)
  --open-timeout S    the opening handshake must complete within S seconds (default 10; 0: off)";

/// The help text for the client's timer flags.
pub const CLIENT_TIMER_HELP: &str = "\
  --open-timeout S        give up if the connection is not open within S seconds (default 10; 0: off)
  --close-timeout S       give up if the server does not answer our close within S seconds (default 10; 0: off)";

/// Reads the value of a timer flag: seconds (fractions allowed), 0 for off.
pub fn seconds(flag: &str, value: Option<String>) -> Result<Option<Duration>, String> {
    let value = value.ok_or_else(|| format!("{flag} needs a number of seconds"))?;
    let secs: f64 = value
        .parse()
        .map_err(|_| format!("{flag} {value:?} is not a number of seconds"))?;
    if !(0.0..=86_400.0).contains(&secs) {
        return Err(format!(
            "{flag} {value} is out of range (0 to 86400 seconds)"
        ));
    }
    Ok((secs > 0.0).then(|| Duration::from_secs_f64(secs)))
}

/// Applies `--ping-interval`, `--ping-timeout`, `--open-timeout` or
/// `--close-timeout` to `config`; `Ok(None)` when `flag` is none of them.
pub fn timer_flag(
    config: &Config,
    flag: &str,
    value: impl FnOnce() -> Option<String>,
) -> Result<Option<Config>, String> {
    let config = config.clone();
    let set = match flag {
        "--ping-interval" => config.with_ping_interval(seconds(flag, value())?),
        "--ping-timeout" => config.with_ping_timeout(seconds(flag, value())?),
        "--open-timeout" => config.with_open_timeout(seconds(flag, value())?),
        "--close-timeout" => config.with_close_timeout(seconds(flag, value())?),
        _ => return Ok(None),
    };
    set.map(Some).map_err(|e| format!("{flag}: {e}"))
}

/// The help text for the servers' TLS flags.
pub const TLS_HELP: &str = "\
  --tls-cert FILE     serve https:// and wss:// with this PEM certificate chain, leaf first
                      (with --tls-key; needs the rustls feature)
  --tls-key FILE      the PEM private key of --tls-cert";

/// `--tls-cert` and `--tls-key` as given on the command line.
#[derive(Default)]
pub struct TlsFiles {
    pub cert: Option<String>,
    pub key: Option<String>,
}

/// A server's TLS config (feature `rustls`).
#[cfg(feature = "rustls")]
pub type TlsConfig = std::sync::Arc<wsmachine::tls::rustls::ServerConfig>;
/// Without the `rustls` feature there is none (the flags are refused).
#[cfg(not(feature = "rustls"))]
#[derive(Clone)]
pub enum TlsConfig {}

/// What a TLS connection runs over.
#[cfg(feature = "rustls")]
pub type TlsStream = wsmachine::blocking::TlsStream<std::net::TcpStream>;
#[cfg(not(feature = "rustls"))]
pub type TlsStream = std::net::TcpStream;

impl TlsFiles {
    /// `None` for plain HTTP, or the config built from both PEM files.
    pub fn config(self) -> Result<Option<TlsConfig>, String> {
        match (self.cert, self.key) {
            (None, None) => Ok(None),
            (Some(_), None) | (None, Some(_)) => Err("--tls-cert and --tls-key go together".into()),
            #[cfg(feature = "rustls")]
            (Some(cert), Some(key)) => {
                wsmachine::tls::server_config_from_pem_files(cert.as_ref(), key.as_ref())
                    .map(Some)
                    .map_err(|e| format!("TLS: {e}"))
            }
            #[cfg(not(feature = "rustls"))]
            (Some(_), Some(_)) => {
                Err("--tls-cert needs the rustls feature: cargo run --features rustls ...".into())
            }
        }
    }
}

/// The server side of the TLS handshake, within `timeout` (the open timeout).
#[cfg(feature = "rustls")]
pub fn tls_accept(
    stream: std::net::TcpStream,
    config: TlsConfig,
    timeout: Option<Duration>,
) -> Result<TlsStream, wsmachine::blocking::Error> {
    wsmachine::blocking::tls_accept_within(stream, config, timeout)
}

#[cfg(not(feature = "rustls"))]
pub fn tls_accept(
    _: std::net::TcpStream,
    config: TlsConfig,
    _: Option<Duration>,
) -> Result<TlsStream, wsmachine::blocking::Error> {
    match config {}
}

/// The echo servers' command line: `[ADDR] [--any-origin] [timer flags]
/// [--tls-cert FILE --tls-key FILE] [-h]`, starting from `config`. `extra`
/// is offered every other flag first and says whether it took it (the
/// server's own flags, such as `--stream`). `--help` prints `usage` with
/// the timer and TLS help and exits.
pub fn server_args(
    usage: &str,
    mut config: Config,
    mut extra: impl FnMut(&str, &mut Config) -> bool,
) -> Result<(SocketAddr, Config, TlsFiles), String> {
    let mut addr = None;
    let mut tls = TlsFiles::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--any-origin" => config = config.with_origin_policy(OriginPolicy::Any),
            "--ping-interval" | "--ping-timeout" | "--open-timeout" => {
                config = timer_flag(&config, &arg, || args.next())?.expect("a timer flag");
            }
            "--tls-cert" => tls.cert = Some(args.next().ok_or("--tls-cert needs a file")?),
            "--tls-key" => tls.key = Some(args.next().ok_or("--tls-key needs a file")?),
            "-h" | "--help" => {
                println!("{usage}\n{SERVER_TIMER_HELP}\n{TLS_HELP}");
                std::process::exit(0);
            }
            flag if extra(flag, &mut config) => {}
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag}")),
            _ if addr.is_some() => return Err(format!("unexpected argument {arg}")),
            _ => addr = Some(socket_addr(&arg)?),
        }
    }
    Ok((addr.unwrap_or_else(default_addr), config, tls))
}

/// Where the servers listen when given no address.
pub fn default_addr() -> SocketAddr {
    ([127, 0, 0, 1], 8080).into()
}

/// A server's address argument (`127.0.0.1:8080`, `localhost:0`), resolved.
pub fn socket_addr(arg: &str) -> Result<SocketAddr, String> {
    arg.to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| format!("bad address {arg}"))
}
