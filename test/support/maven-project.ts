/**
 * A Maven project a compatibility test runs beside ours (Kafka Streams, Spring Kafka, Debezium):
 * built into its target/ only when its sources changed (a hash of pom.xml and src/ next to the
 * jar), with a missing Java or Maven a failure that says what to install, never a skip: without
 * the real thing there is nothing to compare with.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface MavenProjectOptions {
  /** The project's directory, with pom.xml and src/. */
  readonly dir: string;
  /** The jar `mvn package` writes into target/. */
  readonly jarName: string;
  /** Who needs it, for error messages: "The differential tests need". */
  readonly needs: string;
  /** What it is compared with, for error messages: "Kafka Streams itself". */
  readonly reference: string;
  /** The pom.xml property holding the version built against, e.g. `kafka.version`. */
  readonly versionProperty: string;
  /** Names what failed to build, for error messages: "the Kafka Streams runner". */
  readonly what: string;
}

export interface MavenProject {
  readonly dir: string;
  readonly jar: string;
  /** The version the project builds against (its pom.xml property). */
  version(): string;
  /** Builds the project unless the jar there was built from the current sources. */
  ensureBuilt(): void;
}

export function mavenProject(o: MavenProjectOptions): MavenProject {
  const pomFile = join(o.dir, 'pom.xml');
  const targetDir = join(o.dir, 'target');
  const jar = join(targetDir, o.jarName);
  const hashFile = join(targetDir, 'source.sha256');

  const requireTool = (command: string, args: string[], what: string): void => {
    const r = spawnSync(command, args, { encoding: 'utf8' });
    if (r.error || r.status !== 0) {
      throw new Error(
        `${o.needs} ${what} ("${command} ${args.join(' ')}" failed: ${r.error?.message ?? r.stderr.trim()}). ` +
          `Install Java 17 and Maven 3.8+ and put them on PATH: ${o.reference} is what this compares with.`,
      );
    }
  };

  const sourceHash = (): string => {
    const hash = createHash('sha256');
    for (const f of [pomFile, ...files(join(o.dir, 'src')).sort()]) {
      hash.update(f.slice(o.dir.length));
      hash.update(readFileSync(f));
    }
    return hash.digest('hex');
  };

  return {
    dir: o.dir,
    jar,
    version() {
      const property = o.versionProperty.replaceAll('.', '\\.');
      const version = new RegExp(`<${property}>([^<]+)</${property}>`)
        .exec(readFileSync(pomFile, 'utf8'))?.[1]
        ?.trim();
      if (!version) throw new Error(`No <${o.versionProperty}> property in ${pomFile}`);
      return version;
    },
    ensureBuilt() {
      requireTool('java', ['-version'], 'Java 17');
      const hash = sourceHash();
      if (existsSync(jar) && existsSync(hashFile) && readFileSync(hashFile, 'utf8') === hash) return;
      requireTool('mvn', ['-v'], 'Maven');
      // clean: copy-dependencies adds to target/lib and never removes, so the jars of an earlier
      // version would stay on the class path next to the new ones.
      const r = spawnSync('mvn', ['-q', '-B', '-f', pomFile, 'clean', 'package'], {
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
      });
      if (r.status !== 0)
        throw new Error(`Building ${o.what} failed (mvn package in ${o.dir}):\n${r.stdout}\n${r.stderr}`);
      writeFileSync(hashFile, hash);
    },
  };
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}
