//! send-email's constructor: the stream consumer delivers address requests
//! through the reset flows (which look the address up in the directory and
//! queue the mail) and sends the outbox through SES v2 (and webhooks, with
//! their retry queue).

use std::sync::Arc;

use super::{Environment, sdk, store, table};
use crate::config::{Config, ConfigError};
use crate::mail::Outbox;
use crate::reset::ResetService;

/// What send-email builds once: the reset service its intake deliveries
/// run through, and the outbox it sends.
pub struct SendEmail {
    pub reset: ResetService,
    pub outbox: Outbox,
}

pub fn send_email(env: &Environment) -> Result<SendEmail, ConfigError> {
    let mut vars = env.reader();
    let config = Config::read(&mut vars);
    let table = table(&mut vars);
    let from = vars.required(
        "REKEY_MAIL_FROM",
        "the sender address, a verified SES identity, e.g. \"Acme <no-reply@acme.example>\"",
    );
    if let Err(e) = crate::mail::templates::init_from(vars.optional("REKEY_TEMPLATE_DIR")) {
        vars.problems.push(e);
    }
    let sender_id = vars.optional("REKEY_SMS_SENDER_ID");
    if let Some(id) = &sender_id
        && !crate::sms::sns::valid_sender_id(id)
    {
        vars.problems.push(
            "REKEY_SMS_SENDER_ID must be 1 to 11 letters and digits, at least one a letter".into(),
        );
    }
    let origination = vars.optional("REKEY_SMS_ORIGINATION_NUMBER");
    if let Some(n) = &origination
        && crate::domain::PhoneNumber::parse(n).is_none()
    {
        vars.problems.push(
            "REKEY_SMS_ORIGINATION_NUMBER must be an E.164 number the account owns, e.g. +15555550199".into(),
        );
    }
    #[cfg(feature = "sqs")]
    let webhooks =
        crate::webhook::sqs::sender_from_env(&mut vars, config.as_ref().map(|c| &c.keys));
    vars.finish()?;
    let config = config.expect("every problem was reported");
    let store = store(env, table.expect("reported when missing"));
    let mailer = crate::mail::ses::SesMailer::new(
        aws_sdk_sesv2::Client::new(&sdk(env, "SESV2")),
        from.expect("reported when missing"),
    );
    // Intake delivery looks each address up where the accounts live (with
    // a pool, the pool: rekey's own table holds only a `<sub>@cognito.invalid`
    // record per pool user); notices that carry a pool sign-out retry it
    // through the same directory.
    let directory =
        crate::directory::from_environment(&config.directory, store.clone(), &|n| env.get(n))?;
    let pool = matches!(
        config.directory,
        crate::directory::DirectoryChoice::Cognito { .. }
    );
    let outbox = Outbox {
        directory: pool.then(|| directory.clone()),
        store: store.clone(),
        texts: Some(Arc::new(crate::sms::sns::SnsTexter::new(
            aws_sdk_sns::Client::new(&sdk(env, "SNS")),
            sender_id,
            origination,
        ))),
        mailer: Arc::new(mailer),
        keys: config.keys.clone(),
        product_name: config.product_name.clone(),
        #[cfg(all(feature = "webhook-delivery", not(feature = "sqs")))]
        webhooks: None,
        #[cfg(feature = "sqs")]
        webhooks,
    };
    let reset = ResetService::new(&config, store).with_directory(directory);
    Ok(SendEmail { reset, outbox })
}
