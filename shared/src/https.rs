//! rekey's HTTPS client: hyper (HTTP/1.1) with rustls on ring, trusting
//! Mozilla's root programme as compiled into `webpki-roots`. Every AWS SDK
//! client, the webhook sender and the Pwned Passwords check use it. In a
//! Lambda, every SDK client shares one (`sdk_http_client`, through the one
//! base SDK config `aws::environment_sdk_config` builds); the webhook
//! sender and the Pwned Passwords check each hold their own connector,
//! with their own timeouts; a function that reads its secrets from Secrets
//! Manager at init builds one more for that read. rekeyctl builds one per
//! SDK config it loads.
//!
//! Why not the SDK's own client (aws-smithy-http-client): it reads the
//! system's root certificates (every file under /etc/ssl/certs here) and
//! parses each into a trust anchor, once when an SDK client is built and
//! again on its first request, for every SDK client of a function. That
//! was most of a function's init (docs/benchmarks.md, "Init to ready").
//! The compiled-in anchors are already parsed: building this client reads
//! no file and parses nothing, so nothing moves into the first request
//! either. docs/security.md says why this trust store is the right one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::ErrorKind;
use hyper_util::client::legacy::{Client, connect::HttpConnector as TcpConnector};
use hyper_util::rt::{TokioExecutor, TokioTimer};

type Pool = Client<hyper_rustls::HttpsConnector<TcpConnector>, SdkBody>;
/// A connector's connect and response timeouts.
type Timeouts = (Option<Duration>, Option<Duration>);

/// The trust anchors every connection verifies servers against.
pub fn root_store() -> rustls::RootCertStore {
    rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

/// A connection pool that sends one request per `call` and gives up on a
/// response that has not started within `response_timeout`. Plain HTTP
/// too: moto, DynamoDB Local and `AWS_ENDPOINT_URL`s on loopback.
#[derive(Clone)]
pub struct HttpsConnector {
    pool: Pool,
    response_timeout: Option<Duration>,
}

impl std::fmt::Debug for HttpsConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpsConnector")
            .field("response_timeout", &self.response_timeout)
            .finish_non_exhaustive()
    }
}

impl HttpsConnector {
    /// `connect_timeout` bounds the TCP connect (the TLS handshake is
    /// bounded by the caller's attempt timeout); `response_timeout` the
    /// wait for the response's head.
    pub fn new(connect_timeout: Option<Duration>, response_timeout: Option<Duration>) -> Self {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            // ring's provider supports both default versions: unreachable.
            .unwrap_or_else(|e| unreachable!("{e}"))
            .with_root_certificates(root_store())
            .with_no_client_auth();
        let mut tcp = TcpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(connect_timeout);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        let pool = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .build(https);
        Self {
            pool,
            response_timeout,
        }
    }
}

impl HttpConnector for HttpsConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let request = match request.try_into_http1x() {
            Ok(request) => request,
            Err(e) => return HttpConnectorFuture::ready(Err(ConnectorError::user(e.into()))),
        };
        let sent = self.pool.request(request);
        let timeout = self.response_timeout;
        HttpConnectorFuture::new(async move {
            let response = match timeout {
                Some(limit) => match tokio::time::timeout(limit, sent).await {
                    Ok(r) => r,
                    Err(elapsed) => return Err(ConnectorError::timeout(elapsed.into())),
                },
                None => sent.await,
            }
            .map_err(connector_error)?;
            HttpResponse::try_from(response.map(SdkBody::from_body_1_x))
                .map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

/// What the SDK's retry policy needs to know: a connection that failed or
/// closed is transient (retried), a request we could not send is not.
fn connector_error(err: hyper_util::client::legacy::Error) -> ConnectorError {
    if err.is_connect() {
        return ConnectorError::io(err.into());
    }
    let hyper_error = find_source::<hyper::Error>(&err);
    let transient = hyper_error.is_some_and(|e| e.is_closed() || e.is_canceled())
        || find_source::<std::io::Error>(&err).is_some();
    let incomplete = hyper_error.is_some_and(hyper::Error::is_incomplete_message);
    let user = hyper_error.is_some_and(hyper::Error::is_user);
    let err: BoxError = err.into();
    if transient {
        ConnectorError::io(err)
    } else if incomplete {
        ConnectorError::other(err, Some(ErrorKind::TransientError))
    } else if user {
        ConnectorError::user(err)
    } else {
        ConnectorError::other(err, None)
    }
}

fn find_source<'a, E: std::error::Error + 'static>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a E> {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(found) = e.downcast_ref::<E>() {
            return Some(found);
        }
        next = e.source();
    }
    None
}

/// What the SDK clients take: one connector per timeout setting, built
/// once. The request path's is built with the client (at init), so the
/// first request builds nothing; building one parses nothing.
#[derive(Debug)]
struct SdkHttpClient {
    connectors: Mutex<HashMap<Timeouts, SharedHttpConnector>>,
}

impl HttpClient for SdkHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        let key: Timeouts = (settings.connect_timeout(), settings.read_timeout());
        let mut connectors = self
            .connectors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        connectors
            .entry(key)
            .or_insert_with(|| SharedHttpConnector::new(HttpsConnector::new(key.0, key.1)))
            .clone()
    }
}

/// The HTTP client for an AWS SDK config, its connector for `settings`
/// (the timeouts the config sets) built now. Shared by the clients built
/// from one config (a Lambda's, `aws::environment_sdk_config`), not across
/// a process: a pool holds connections of the tokio runtime that opened
/// them, and tests run many runtimes in one process.
pub fn sdk_http_client(settings: &HttpConnectorSettings) -> SharedHttpClient {
    let key = (settings.connect_timeout(), settings.read_timeout());
    let connector = SharedHttpConnector::new(HttpsConnector::new(key.0, key.1));
    SharedHttpClient::new(SdkHttpClient {
        connectors: Mutex::new(HashMap::from([(key, connector)])),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_are_verified_against_the_compiled_in_roots() {
        let roots = root_store();
        // Mozilla's programme holds well over a hundred roots; AWS
        // endpoints chain to Amazon Root CA 1-4 and Starfield's G2 roots.
        assert!(roots.len() > 100, "{} roots", roots.len());
        let subjects: Vec<String> = webpki_roots::TLS_SERVER_ROOTS
            .iter()
            .map(|a| String::from_utf8_lossy(a.subject.as_ref()).into_owned())
            .collect();
        for name in [
            "Amazon Root CA 1",
            "Amazon Root CA 2",
            "Amazon Root CA 3",
            "Amazon Root CA 4",
            "Starfield Root Certificate Authority - G2",
        ] {
            assert!(
                subjects.iter().any(|s| s.contains(name)),
                "{name} is not a trust anchor"
            );
        }
    }
}
