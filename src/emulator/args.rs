//! Command-line options, parsed by hand: a dozen flags do not justify an argument-parsing
//! dependency in a crate whose other half ships to browsers.

use std::net::IpAddr;
use std::path::PathBuf;

/// Usage text printed by `--help` and on a bad flag.
pub const USAGE: &str = "\
flagship-emulator: a local AB Tasty Flagship Decision API, collector, CDN and Segment endpoint

USAGE:
    flagship-emulator [OPTIONS]

OPTIONS:
    --port N            port to listen on (default 8787; 0 picks a free one)
    --host ADDR         address to bind (default 127.0.0.1)
    --bucketing FILE    bucketing file to decide with (default www/bucketing.json)
    --www DIR           static files served at / (default www)
    --pkg DIR           built package served at /pkg/ (default pkg)
    --vendor DIR        analytics-next UMD build served at /vendor/analytics-next/
                        (default node_modules/@segment/analytics-next/dist/umd)
    --api-key KEY       require this x-api-key on /campaigns and /flags (default: no check)
    --env-id ID         answer only this environment ID (default: any)
    --max-body BYTES    largest request body accepted (default 1048576)
    -h, --help          print this help
";

/// Everything the server needs to start.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Bind address.
    pub host: IpAddr,
    /// Port; 0 lets the OS choose.
    pub port: u16,
    /// Bucketing file path.
    pub bucketing: PathBuf,
    /// Static root served at `/`.
    pub www: PathBuf,
    /// Package directory served at `/pkg/`.
    pub pkg: PathBuf,
    /// analytics-next UMD directory served at `/vendor/analytics-next/`.
    pub vendor: PathBuf,
    /// Required `x-api-key`, if any.
    pub api_key: Option<String>,
    /// The only environment answered, if set.
    pub env_id: Option<String>,
    /// Body size limit in bytes.
    pub max_body: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            host: IpAddr::from([127, 0, 0, 1]),
            port: 8787,
            bucketing: "www/bucketing.json".into(),
            www: "www".into(),
            pkg: "pkg".into(),
            vendor: "node_modules/@segment/analytics-next/dist/umd".into(),
            api_key: None,
            env_id: None,
            max_body: 1 << 20,
        }
    }
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Run the server.
    Serve(Options),
    /// Print [`USAGE`].
    Help,
}

/// Parses the arguments after the program name. `--flag value` and `--flag=value` are accepted.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut options = Options::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg, None),
        };
        if flag == "-h" || flag == "--help" {
            return Ok(Command::Help);
        }
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--port" => {
                options.port = value()?
                    .parse()
                    .map_err(|_| "--port must be a number in 0..=65535".to_owned())?;
            }
            "--host" => {
                options.host = value()?
                    .parse()
                    .map_err(|_| "--host must be an IP address".to_owned())?;
            }
            "--bucketing" => options.bucketing = value()?.into(),
            "--www" => options.www = value()?.into(),
            "--pkg" => options.pkg = value()?.into(),
            "--vendor" => options.vendor = value()?.into(),
            "--api-key" => options.api_key = Some(value()?),
            "--env-id" => options.env_id = Some(value()?),
            "--max-body" => {
                options.max_body = value()?
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| "--max-body must be a positive number".to_owned())?;
            }
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    Ok(Command::Serve(options))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Command, String> {
        parse(list.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn defaults_bind_loopback() {
        let Ok(Command::Serve(o)) = args(&[]) else {
            panic!("no arguments must serve");
        };
        assert_eq!(o, Options::default());
        assert!(o.host.is_loopback());
    }

    #[test]
    fn both_value_forms() {
        let Ok(Command::Serve(o)) = args(&["--port", "9000", "--api-key=k", "--www", "site"])
        else {
            panic!("valid flags refused");
        };
        assert_eq!(
            (o.port, o.api_key.as_deref(), o.www),
            (9000, Some("k"), PathBuf::from("site"))
        );
    }

    #[test]
    fn mistakes_are_named() {
        assert_eq!(args(&["--port"]), Err("--port needs a value".into()));
        assert_eq!(
            args(&["--port", "x"]),
            Err("--port must be a number in 0..=65535".into())
        );
        assert_eq!(args(&["--nope"]), Err("unknown option --nope".into()));
        assert_eq!(args(&["-h"]), Ok(Command::Help));
    }
}
