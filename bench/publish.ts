import { join } from 'node:path';
import { ONLY } from './settings';
import { evaluateTargets } from './targets';
import { log } from './support/lifecycle';
import {
  RESULTS_DIRECTORY,
  RunResults,
  renderMachine,
  renderProfileTables,
  renderScenarioTable,
  renderTargetTable,
  replaceGeneratedBlock,
  writeJson,
} from './support/report';

/**
 * A full run's results go to bench/results/<date>.json and the generated blocks of
 * docs/BENCHMARKS.md, with the targets evaluated; a trial run (BENCH_ONLY) is printed only.
 */
export function publish(results: RunResults): void {
  const { profile, rejectedProfile, verifyProfile, rightCodeProfile } = results;
  if (ONLY) {
    log(`trial run (BENCH_ONLY=${ONLY.join(',')}), nothing written:`);
    console.log(renderScenarioTable(results));
    for (const [label, summary] of [
      ['send', profile],
      ['429', rejectedProfile],
      ['verify', verifyProfile],
      ['verify, right codes', rightCodeProfile],
    ] as const) {
      if (summary)
        console.log(`\nprofile (${label}):\n${renderProfileTables(summary, 'requests')}`);
    }
    return;
  }
  results.targets = evaluateTargets(results);
  writeJson(join(RESULTS_DIRECTORY, `${results.date}.json`), results);
  replaceGeneratedBlock('machine', renderMachine(results));
  replaceGeneratedBlock('scenarios', renderScenarioTable(results));
  replaceGeneratedBlock('targets', renderTargetTable(results));
  if (profile) replaceGeneratedBlock('profile', renderProfileTables(profile, 'sends'));
  if (rejectedProfile) {
    replaceGeneratedBlock('profile-429', renderProfileTables(rejectedProfile, 'refused sends'));
  }
  if (verifyProfile) {
    replaceGeneratedBlock('profile-verify', renderProfileTables(verifyProfile, 'wrong codes'));
  }
  if (rightCodeProfile) {
    replaceGeneratedBlock(
      'profile-verify-right',
      renderProfileTables(rightCodeProfile, 'right codes'),
    );
  }
  log(
    `results: bench/results/${results.date}.json, docs/BENCHMARKS.md (${results.totalSeconds} s)`,
  );
}
