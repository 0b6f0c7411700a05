#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildApp } from '../lib/app';
import { ConfigError } from '../lib/config';

const app = new App();
try {
  buildApp(app);
} catch (e) {
  if (!(e instanceof ConfigError)) throw e;
  // A configuration mistake is the user's to fix: show the message, not a stack trace.
  console.error(e.message);
  process.exit(1);
}
// cdk-nag runs on every synth; a finding without a reasoned acknowledgement (lib/nag-suppressions.ts) fails it.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
