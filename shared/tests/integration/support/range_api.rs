//! A Pwned Passwords range API on the loopback, answering from data the
//! test makes: what the range check is tested against.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Answers `/range/{prefix}` from a corpus (full SHA-1s in hex with
/// counts) with padding lines, after a delay; records every request line
/// and header block it gets.
pub struct RangeServer {
    pub url: String,
    pub seen: Arc<Mutex<Vec<String>>>,
    /// While set, every answer is an HTML page instead of a range list.
    pub broken: Arc<AtomicBool>,
}

pub async fn range_server(
    corpus: Vec<(String, u64)>,
    delay: Duration,
    broken: bool,
) -> RangeServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let broken = Arc::new(AtomicBool::new(broken));
    let is_broken = broken.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let (corpus, log, is_broken) = (corpus.clone(), log.clone(), is_broken.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let n = socket.read(&mut buf).await.unwrap_or(0);
                let request = String::from_utf8_lossy(&buf[..n]).to_string();
                log.lock().unwrap().push(request.clone());
                tokio::time::sleep(delay).await;
                let prefix = request
                    .split_whitespace()
                    .nth(1)
                    .and_then(|p| p.strip_prefix("/range/"))
                    .unwrap_or("")
                    .to_string();
                let mut body: String = corpus
                    .iter()
                    .filter(|(h, _)| h.starts_with(&prefix))
                    .map(|(h, n)| format!("{}:{n}\r\n", &h[5..]))
                    .collect();
                // Padding, as the service adds it: zero counts.
                body.push_str("0000000000000000000000000000000000A:0\r\n");
                if is_broken.load(Ordering::SeqCst) {
                    body = "<html>maintenance</html>".into();
                }
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    RangeServer { url, seen, broken }
}

/// A URL where nothing listens: a loopback port just freed.
pub fn closed_range_server() -> RangeServer {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    RangeServer {
        url: format!("http://127.0.0.1:{port}"),
        seen: Default::default(),
        broken: Default::default(),
    }
}

/// The password's SHA-1 in upper-case hex, as the range API lists it.
pub fn sha1_hex(password: &str) -> String {
    let (prefix, suffix) = rekey::password::pwned::range_parts(password);
    prefix + &suffix
}
