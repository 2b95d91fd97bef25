//! rekeyctl: rekey's local server and operator commands.

mod accounts;
mod blocklist;
mod commands;
mod data_dir;
mod failure;
mod operator;
mod serve;
mod signing_key;
mod webhooks;

use std::io::Read;
use std::process::ExitCode;

use clap::Parser;
use rekey::domain::OrgBinding;

use accounts::{NewAccount, add_user, create_key};
pub use commands::Global;
use commands::{Cli, Command, KeyCommand, TableCommand, UserCommand};
use failure::Failure;

#[tokio::main]
async fn main() -> ExitCode {
    rekey::telemetry::init_cli();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("rekeyctl: {failure}{}", hint(failure.message()));
            ExitCode::FAILURE
        }
    }
}

/// How to fix what the AWS SDK reported, when the message alone does not say.
fn hint(message: &str) -> &'static str {
    if message.contains("ResourceNotFoundException") {
        "\nhint: the table does not exist at this endpoint: check REKEY_TABLE and AWS_ENDPOINT_URL/AWS_REGION, or create it with `rekeyctl --dynamodb table create`"
    } else if message.contains("timed out") || message.contains("dispatch failure") {
        "\nhint: DynamoDB did not answer: check AWS_ENDPOINT_URL (a local endpoint must be running), AWS_REGION and the network"
    } else if message.contains("credentials") {
        "\nhint: set AWS credentials (AWS_PROFILE, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)"
    } else {
        ""
    }
}

async fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Serve(args) => serve::run(&cli.global, args).await,
        Command::SigningKey(cmd) => signing_key::run(&cli.global, cmd),
        Command::Webhook(cmd) => webhooks::run(&cli.global, cmd).await,
        Command::Password(cmd) => Ok(blocklist::run(cmd)?),
        Command::User(cmd) => {
            let store = data_dir::open_operator_store(&cli.global).await?;
            match cmd {
                UserCommand::Add {
                    email,
                    name,
                    org,
                    id,
                    password_stdin,
                    phone,
                    phone_unverified,
                } => {
                    let phone = phone
                        .map(|raw| {
                            rekey::domain::PhoneNumber::parse(&raw)
                                .map(|p| (p, !phone_unverified))
                                .ok_or_else(|| {
                                    "--phone is not an E.164 number: a + then the country calling code and number, e.g. +15555550100".to_string()
                                })
                        })
                        .transpose()?;
                    let password = if password_stdin {
                        let mut line = String::new();
                        std::io::stdin()
                            .read_to_string(&mut line)
                            .map_err(|e| format!("cannot read the password from stdin: {e}"))?;
                        Some(line.lines().next().unwrap_or_default().to_string())
                    } else {
                        None
                    };
                    let config = data_dir::config(&cli.global, None)?;
                    let account = NewAccount {
                        email: &email,
                        name,
                        org,
                        phone,
                        id,
                    };
                    let id = add_user(&*store, &config, account, password.as_deref()).await?;
                    println!("{id}");
                    Ok(())
                }
                UserCommand::Import { file } => {
                    let input: Box<dyn std::io::BufRead> = if file.as_os_str() == "-" {
                        Box::new(std::io::BufReader::new(std::io::stdin()))
                    } else {
                        Box::new(std::io::BufReader::new(
                            std::fs::File::open(&file).map_err(|e| {
                                format!("cannot open {}: {e} (use - for stdin)", file.display())
                            })?,
                        ))
                    };
                    let config = data_dir::config(&cli.global, None)?;
                    let hasher = rekey::password::CredentialHasher::with_legacy(
                        config.hash_params,
                        config.legacy_hashes,
                    );
                    let (imported, skipped) = operator::import(&*store, &hasher, input).await?;
                    eprintln!("imported {imported}, skipped {skipped}");
                    if skipped > 0 {
                        return Err(format!(
                            "{skipped} line(s) were not imported (reasons above); fix them and import those lines again"
                        ).into());
                    }
                    Ok(())
                }
                UserCommand::Show { user } => {
                    let u = operator::find_user(&*store, &user).await?;
                    println!("{}", operator::show_user(&u));
                    Ok(())
                }
                UserCommand::Disable { user } => {
                    let config = data_dir::config(&cli.global, None)?;
                    let reset = rekey::App::new(&config, store.clone()).reset;
                    operator::disable(&reset, &*store, &user).await
                }
                UserCommand::Enable { user } => operator::set_disabled(&*store, &user, false).await,
                UserCommand::List => {
                    for u in store.users().await.map_err(Failure::of)? {
                        println!(
                            "{}\t{}\t{}\t{}",
                            u.id,
                            u.email.as_str(),
                            u.name.as_deref().unwrap_or("-"),
                            if u.disabled { "disabled" } else { "active" }
                        );
                    }
                    Ok(())
                }
            }
        }
        Command::Key(cmd) => {
            let store = data_dir::open_operator_store(&cli.global).await?;
            match cmd {
                KeyCommand::Create {
                    scopes,
                    name,
                    org,
                    all_orgs,
                } => {
                    let org = match (org, all_orgs) {
                        (_, true) => OrgBinding::AllOrgs,
                        (Some(org), false) => OrgBinding::Org(org),
                        (None, false) => OrgBinding::DefaultOrg,
                    };
                    println!("{}", create_key(&*store, scopes, name, org).await?.expose());
                    Ok(())
                }
                KeyCommand::List => {
                    for k in store.api_keys().await.map_err(Failure::of)? {
                        println!("{}", operator::key_line(&k));
                    }
                    Ok(())
                }
                KeyCommand::Revoke { id } => operator::revoke_key(&*store, &id).await,
            }
        }
        Command::Audit { user, limit } => {
            let store = data_dir::open_operator_store(&cli.global).await?;
            let found = operator::find_user(&*store, &user).await?;
            for e in store
                .audit_events(&found.id, limit)
                .await
                .map_err(Failure::of)?
            {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    rekey::mail::format_time(e.at),
                    e.action,
                    e.outcome,
                    e.source_ip.as_deref().unwrap_or("-"),
                    e.user_agent.as_deref().unwrap_or("-")
                );
            }
            Ok(())
        }
        Command::Table(TableCommand::Create { table }) => {
            let store = rekey::store::dynamo::DynamoStore::connect_for_operator(&table).await?;
            store
                .create_table()
                .await
                .map_err(|e| Failure::because(format!("cannot create table {table}"), e))?;
            eprintln!("table {table} created (pk/sk, TTL on `ttl`, NEW_IMAGE stream)");
            Ok(())
        }
    }
}
