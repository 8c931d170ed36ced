/**
 * TLS and SASL for the commands that connect to Kafka (reset, dlt redrive), as options:
 * `--tls`, `--tls-ca <file>`, `--sasl-mechanism <mechanism>` and `--sasl-username <name>`. The
 * password (PLAIN, SCRAM) comes from KAFKA_SASL_PASSWORD and the OAUTHBEARER token from
 * KAFKA_SASL_OAUTHBEARER_TOKEN, never from the command line, where other users of the machine
 * can read it.
 */
import { readFileSync } from 'node:fs';
import {
  type SaslSettings,
  type SecuritySettings,
  securityProblem,
} from '@kafka-pattern/streams-core/client';
import { type Command, InvalidArgumentError } from 'commander';

export interface SecurityFlags {
  tls?: boolean;
  tlsCa?: string;
  saslMechanism?: string;
  saslUsername?: string;
}

/** Adds the TLS and SASL options to a command. */
export function withSecurityOptions(command: Command): Command {
  return command
    .option('--tls', 'connect with TLS (the listener is SSL or SASL_SSL), trusting the bundled public CAs')
    .option('--tls-ca <file>', "a PEM file of the CA that signed the brokers' certificates (implies --tls)")
    .option(
      '--sasl-mechanism <mechanism>',
      'log in with SASL: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (password in KAFKA_SASL_PASSWORD), or OAUTHBEARER (token in KAFKA_SASL_OAUTHBEARER_TOKEN)',
    )
    .option('--sasl-username <name>', 'the SASL user (PLAIN, SCRAM)');
}

/** The settings the flags and the environment give; throws InvalidArgumentError naming the fix. */
export function securityFromFlags(
  flags: SecurityFlags,
  env: NodeJS.ProcessEnv = process.env,
): SecuritySettings {
  const settings: SecuritySettings = {};
  if (flags.tlsCa !== undefined) {
    let ca: string;
    try {
      ca = readFileSync(flags.tlsCa, 'utf8');
    } catch (error) {
      throw new InvalidArgumentError(`--tls-ca ${flags.tlsCa}: cannot read it (${(error as Error).message})`);
    }
    if (!ca.includes('-----BEGIN CERTIFICATE-----')) {
      throw new InvalidArgumentError(
        `--tls-ca ${flags.tlsCa}: not a PEM certificate file (no BEGIN CERTIFICATE line)`,
      );
    }
    settings.tls = { ca };
  } else if (flags.tls) {
    settings.tls = true;
  }
  const mechanism = flags.saslMechanism;
  if (mechanism === undefined) {
    if (flags.saslUsername !== undefined) {
      throw new InvalidArgumentError(
        '--sasl-username needs --sasl-mechanism (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)',
      );
    }
    return settings;
  }
  let sasl: SaslSettings;
  if (mechanism === 'OAUTHBEARER') {
    const token = env.KAFKA_SASL_OAUTHBEARER_TOKEN;
    if (!token) {
      throw new InvalidArgumentError(
        '--sasl-mechanism OAUTHBEARER needs the token in KAFKA_SASL_OAUTHBEARER_TOKEN',
      );
    }
    sasl = { mechanism, token };
  } else {
    const password = env.KAFKA_SASL_PASSWORD;
    if (flags.saslUsername === undefined || !password) {
      throw new InvalidArgumentError(
        `--sasl-mechanism ${mechanism} needs --sasl-username and the password in KAFKA_SASL_PASSWORD`,
      );
    }
    sasl = { mechanism, username: flags.saslUsername, password } as SaslSettings;
  }
  const problem = securityProblem({ sasl }, '--');
  if (problem !== undefined) {
    throw new InvalidArgumentError(problem.replace('--sasl.mechanism', '--sasl-mechanism'));
  }
  settings.sasl = sasl;
  return settings;
}
