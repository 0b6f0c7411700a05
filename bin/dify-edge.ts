#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildApp } from '../lib/app';

const app = new App();
buildApp(app);
// cdk-nag runs on every synth; a finding without a reasoned acknowledgement (lib/nag-suppressions.ts) fails it.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
