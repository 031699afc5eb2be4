//! Command-line pieces the examples share: the liveness flags.
#![allow(dead_code)]

use std::time::Duration;

use wsmachine::Config;

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
