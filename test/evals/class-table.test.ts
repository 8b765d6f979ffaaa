import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { knownTemplateClasses, TEMPLATE_CLASSES, templateFactory } from '../../src/evals/class-table.ts';
import { UnknownClassError } from '../../src/evals/classes.ts';
import { Registry } from '../../src/evals/registry.ts';

const evalsDir = join(dirname(fileURLToPath(import.meta.url)), '../../src/evals');

describe('the eval class table', () => {
  it("maps openai/evals' class paths to the same factories as tetra's own names", () => {
    const pairs: [string, string][] = [
      ['evals.elsuite.basic.match:Match', 'tetra.match'],
      ['evals.elsuite.basic.includes:Includes', 'tetra.includes'],
      ['evals.elsuite.basic.fuzzy_match:FuzzyMatch', 'tetra.fuzzy_match'],
      ['evals.elsuite.basic.json_match:JsonMatch', 'tetra.json_match'],
      ['evals.elsuite.modelgraded.classify:ModelBasedClassify', 'tetra.modelgraded'],
    ];
    for (const [openai, tetra] of pairs) {
      assert.ok(TEMPLATE_CLASSES.get(openai), openai);
      assert.equal(TEMPLATE_CLASSES.get(openai), TEMPLATE_CLASSES.get(tetra), `${openai} and ${tetra}`);
    }
  });

  it('has a row for the class of every eval the built-in registries define', async () => {
    const r = new Registry([join(evalsDir, 'core-registry'), join(evalsDir, 'builtin-registry')]);
    const names = r.names('evals');
    assert.ok(names.length > 5, `${names.length} evals`);
    for (const name of names) {
      const spec = r.eval(name);
      assert.equal(await templateFactory(spec.cls, spec), TEMPLATE_CLASSES.get(spec.cls), `${name}: ${spec.cls}`);
    }
  });

  it('refuses a class outside the table that names no TypeScript file, listing the table sorted', async () => {
    await assert.rejects(
      templateFactory('evals.elsuite.multiple_choice:MultipleChoice', { file: 'reg/evals/mc.yaml' }),
      (e: unknown) =>
        e instanceof UnknownClassError &&
        e.message.startsWith('reg/evals/mc.yaml: unknown eval class "evals.elsuite.multiple_choice:MultipleChoice"') &&
        e.message.includes(knownTemplateClasses().join(', ')) &&
        e.message.includes('./my-eval.ts:MyEval'),
    );
    assert.deepEqual(knownTemplateClasses(), [...knownTemplateClasses()].sort());
  });
});
