//! `rekeyctl serve`: every route of the route table over real HTTP, through
//! the same operations the Lambdas run, with an in-process outbox worker.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;
use lambda_http::request::RequestContext;
use lambda_http::{Body, RequestExt};
use rekey::App;
use rekey::access_token::local::{LocalKeyDir, LocalSigner};
use rekey::config::DirectoryChoice;
use rekey::delivery::Outbox;
use rekey::directory::Directory;
use rekey::directory::cognito::CognitoPool;
use rekey::domain::{OrgBinding, Scope};
use rekey::http::MAX_BODY_BYTES;
use rekey::mail::Mailer;
use rekey::mail::file::FileMailer;
use rekey::routes;
use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::failure::Failure;
use crate::{Global, data_dir};

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:3000")]
    addr: SocketAddr,
    /// Send mail through SES v2 (REKEY_MAIL_FROM, AWS settings from the
    /// environment) instead of writing .eml files to <data-dir>/outbox.
    #[arg(long)]
    ses: bool,
    /// Look accounts up in, and set passwords in, this Amazon Cognito user
    /// pool (region, credentials and endpoint from the standard AWS
    /// variables: AWS_REGION, AWS_ENDPOINT_URL, profiles...). Overrides
    /// REKEY_DIRECTORY / REKEY_COGNITO_USER_POOL_ID.
    #[arg(long, value_name = "POOL_ID")]
    cognito: Option<String>,
    /// The pool's app client (ALLOW_ADMIN_USER_PASSWORD_AUTH, no secret)
    /// the account-recovery log-in signs in with.
    #[arg(long, value_name = "CLIENT_ID", requires = "cognito")]
    cognito_client: Option<String>,
}

const LOCAL_SENDER: &str = "rekey <no-reply@rekey.localhost>";

pub async fn run(g: &Global, args: ServeArgs) -> Result<(), Failure> {
    let listener = TcpListener::bind(args.addr).await.map_err(|e| {
        format!(
            "cannot listen on {}: {e} (try --addr 127.0.0.1:0)",
            args.addr
        )
    })?;
    let addr = listener.local_addr().map_err(Failure::of)?;
    let config = data_dir::config(g, Some(format!("http://{addr}/reset?token={{token}}")))?;
    let store = data_dir::open_store(g).await?;
    let template_dir = rekey::config::read_template_dir(&rekey::config::EnvReader::process());
    let templates = rekey::mail::templates::init(template_dir.as_deref()).map_err(|e| {
        format!(
            "mail templates: {} (fix the files, or unset REKEY_TEMPLATE_DIR)",
            rekey::error::Chain(&e)
        )
    })?;
    if template_dir.is_some() {
        eprintln!("mail templates: {}", templates.locales().join(", "));
    }

    let mailer: Arc<dyn Mailer> = if args.ses {
        Arc::new(
            rekey::mail::ses::SesMailer::from_env_and_profile()
                .await
                .map_err(Failure::of)?,
        )
    } else {
        let from = rekey::config::mail_from_or(LOCAL_SENDER);
        Arc::new(FileMailer::new(data_dir::outbox_dir(&g.data_dir), from))
    };
    // The worker gets a store of its own (its own SQLite connection): the
    // delivery of address requests and mail must not hold up the requests
    // that follow, or their timing would say an address had an account.
    let outbox = Outbox {
        store: data_dir::open_store(g).await?,
        texts: Some(Arc::new(rekey::sms::file::FileTexter::new(
            data_dir::outbox_dir(&g.data_dir),
        ))),
        mailer,
        keys: config.keys.clone(),
        product_name: config.product_name.clone(),
        webhooks: crate::webhooks::local_sender(g, &config.keys)?,
        directory: None,
    };
    let choice = match args.cognito {
        Some(pool_id) => DirectoryChoice::Cognito {
            pool_id,
            client_id: args.cognito_client,
        },
        None => config.directory.clone(),
    };
    let (directory, worker_directory) = match &choice {
        DirectoryChoice::Rekey => (None, None),
        DirectoryChoice::Cognito { pool_id, client_id } => {
            let sdk = rekey::aws::sdk_config().await?;
            let pool = |store| -> Arc<dyn Directory> {
                Arc::new(CognitoPool::from_sdk_config(
                    &sdk,
                    pool_id.clone(),
                    client_id.clone(),
                    store,
                ))
            };
            (Some(pool(store.clone())), Some(pool(outbox.store.clone())))
        }
    };
    let outbox = Outbox {
        directory: worker_directory.clone(),
        ..outbox
    };
    let wake = Arc::new(Notify::new());
    let notify = wake.clone();
    let signer = local_signer(g)?;
    let app = App::new(&config, store.clone())
        .with_mail_queued_hook(move || notify.notify_one())
        .with_signer(Arc::new(signer));
    let app = match &directory {
        Some(d) => app.with_directory(d.clone()),
        None => app,
    };
    let intake = App::new(&config, outbox.store.clone());
    let intake = match worker_directory {
        Some(d) => intake.with_directory(d),
        None => intake,
    }
    .reset;
    tokio::spawn(outbox_worker(intake, outbox, wake));

    if !g.dynamodb {
        first_start(g, &*store, &config).await?;
    }
    println!("rekey listening on http://{addr}");
    if let Some(c) = config
        .oauth_clients
        .find(&config.session.client_id)
        .filter(|c| c.first_party)
    {
        println!(
            "  demo: the public client {:?} may use the password grant \
             (REKEY_OAUTH_CLIENT_FIRST_PARTY=false closes it; a deployment allows no client unless told)",
            c.id
        );
    }
    for e in &config.webhooks.endpoints {
        println!("  webhook {} -> {}", e.name, e.url);
    }
    if let DirectoryChoice::Cognito { pool_id, client_id } = &choice {
        println!(
            "  accounts: Cognito user pool {pool_id} (log-in client: {})",
            client_id.as_deref().unwrap_or("none; set --cognito-client")
        );
    }
    println!(
        "  data: {}  mail: {}",
        g.data_dir.display(),
        if args.ses {
            "SES v2".to_string()
        } else {
            data_dir::outbox_dir(&g.data_dir).display().to_string()
        }
    );
    for r in routes::ROUTES {
        println!("  {:<5} {:<40} {}", r.method, r.path, r.function.name());
    }

    let app = Arc::new(app);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
            _ = tokio::signal::ctrl_c() => {
                eprintln!("rekeyctl: stopping");
                return Ok(());
            }
        };
        let app = app.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let app = app.clone();
                async move { Ok::<_, std::convert::Infallible>(handle(&app, req, peer).await) }
            });
            if let Err(e) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
}

/// The access-token signer over `<data-dir>/signing-keys/`, making the
/// current key on first start.
fn local_signer(g: &Global) -> Result<LocalSigner, Failure> {
    let keys = LocalKeyDir::in_data_dir(&g.data_dir);
    if keys.ensure_current().map_err(Failure::of)? {
        eprintln!(
            "made an access-token signing key in {}",
            g.data_dir.join("signing-keys").display()
        );
    }
    keys.signer().map_err(Failure::of)
}

/// Delivers address requests (the look-up, the grant, the mail they queue)
/// and then queued mail as soon as a request is queued, and every few
/// seconds anyway (requests queued by another process, retries after
/// failures): what the table's stream and send-email do in AWS.
async fn outbox_worker(intake: rekey::ResetService, outbox: Outbox, wake: Arc<Notify>) {
    const BATCH: usize = 50;
    loop {
        // Each round in its own task: a panic in one delivery is logged and
        // the next round goes on, instead of ending delivery for good.
        let (intake_round, round) = (intake.clone(), outbox.clone());
        let delivered = async move {
            let requests = match intake_round.drain_intake(BATCH).await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "intake unavailable; will retry");
                    0
                }
            };
            // A full batch means more may be waiting: go on at once.
            round
                .drain(BATCH)
                .await
                .map(|sent| requests == BATCH || sent == BATCH)
        };
        match tokio::spawn(delivered).await {
            Ok(Ok(true)) => continue,
            Ok(Ok(false)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "outbox unavailable; will retry"),
            Err(e) => tracing::error!(error = %e, "outbox round failed; will retry"),
        }
        tokio::select! {
            _ = wake.notified() => {
                // Not at once: delivery then runs alongside some later
                // request rather than the one that queued the mail, whose
                // timing must not depend on whether mail was queued.
                let jitter = (uuid::Uuid::new_v4().as_u128() % 200) as u64;
                tokio::time::sleep(Duration::from_millis(100 + jitter)).await;
            }
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
        }
    }
}

/// The organisation of the demo account and of the demo key.
const DEMO_ORG: &str = "demo-org";

/// First start on a data dir: a demo account and a demo key, printed once.
async fn first_start(
    g: &Global,
    store: &dyn rekey::Store,
    config: &rekey::Config,
) -> Result<(), Failure> {
    let marker = g.data_dir.join("demo-created");
    if marker.exists() {
        return Ok(());
    }
    // Random, and passes the default policy (upper, lower, digit, other).
    let password = format!("Rk-{}-9", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let demo = crate::accounts::NewAccount {
        email: "demo@example.com",
        name: Some("Demo User".into()),
        org: Some(DEMO_ORG.into()),
        phone: None,
        id: None,
    };
    let id = crate::accounts::add_user(store, config, demo, Some(&password)).await;
    // Bound to the demo user's organisation, like a partner's key.
    let key = crate::accounts::create_key(
        store,
        vec![Scope::ResetRequest, Scope::UsersWrite],
        "demo".into(),
        OrgBinding::Org(DEMO_ORG.into()),
    )
    .await?;
    std::fs::write(&marker, b"").map_err(|e| format!("cannot write {}: {e}", marker.display()))?;
    println!("first start: created demo data (shown once)");
    match id {
        Ok(id) => println!("  demo user: demo@example.com  id {id}  password {password}"),
        Err(e) => println!("  demo user not created: {e}"),
    }
    println!(
        "  demo API key (reset:request users:write): {}",
        key.expose()
    );
    Ok(())
}

/// Turns a hyper request into the API Gateway request the Lambdas receive,
/// routes it, and returns the function's response.
async fn handle(
    app: &App,
    req: hyper::Request<Incoming>,
    peer: SocketAddr,
) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let Some((function, path_params)) = routes::find(parts.method.as_str(), parts.uri.path())
    else {
        // What API Gateway answers for a route it does not have.
        return respond(rekey::http::json_response(
            404,
            &serde_json::json!({"message": "Not Found"}),
        ));
    };
    // Read at most one byte past the limit: enough for the function to
    // answer 413 in its dialect, never an unbounded buffer.
    let bytes = match Limited::new(body, MAX_BODY_BYTES + 1).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => Bytes::from(vec![b' '; MAX_BODY_BYTES + 1]),
    };
    let query: HashMap<String, Vec<String>> =
        url::form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes())
            .into_owned()
            .fold(HashMap::new(), |mut m, (k, v)| {
                m.entry(k).or_default().push(v);
                m
            });
    let mut context = ApiGatewayV2httpRequestContext::default();
    context.http.method = parts.method.clone();
    context.http.path = Some(parts.uri.path().to_string());
    context.http.source_ip = Some(peer.ip().to_string());
    context.http.user_agent = parts
        .headers
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = if bytes.is_empty() {
        Body::Empty
    } else {
        Body::Binary(bytes.to_vec())
    };
    let request = http::Request::from_parts(parts, body)
        .with_query_string_parameters(query)
        // API Gateway hands functions decoded path parameters.
        .with_path_parameters(
            path_params
                .into_iter()
                .map(|(k, v)| {
                    let decoded = percent_encoding::percent_decode_str(&v)
                        .decode_utf8()
                        .map(|d| d.into_owned());
                    (k, decoded.unwrap_or(v))
                })
                .collect::<HashMap<_, _>>(),
        )
        .with_request_context(RequestContext::ApiGatewayV2(context));
    respond(function.handle(app, request).await)
}

fn respond(response: lambda_http::Response<Body>) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = response.into_parts();
    let bytes = match body {
        Body::Empty => Bytes::new(),
        Body::Text(s) => Bytes::from(s),
        Body::Binary(b) => Bytes::from(b),
        _ => Bytes::new(),
    };
    hyper::Response::from_parts(parts, Full::new(bytes))
}
