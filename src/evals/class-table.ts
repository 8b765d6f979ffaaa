// The registry class names tetra runs, in one table: openai/evals' Python class paths map to
// tetra's templates, so their YAML runs unchanged, and tetra's own names (tetra.match, ...) sit
// beside them. A class not in the table may name a TypeScript file ("./my-eval.ts:MyEval", see
// custom-eval.ts). A new template family adds its rows here.
import { gsm8kFactory, humanevalFactory, mmluFactory, multipleChoiceFactory, truthfulqaFactory } from './benchmark-classes.ts';
import { UnknownClassError, type TemplateEnv, type TemplateFactory } from './classes.ts';
import { customEvalFactory } from './custom-eval.ts';
import { basicFactories, instructFactory, modelGradedFactory, vqaFactory } from './templates/index.ts';

export const TEMPLATE_CLASSES: ReadonlyMap<string, TemplateFactory> = new Map<string, TemplateFactory>([
  ['evals.elsuite.basic.match:Match', basicFactories.match],
  ['evals.elsuite.basic.includes:Includes', basicFactories.includes],
  ['evals.elsuite.basic.fuzzy_match:FuzzyMatch', basicFactories.fuzzyMatch],
  ['evals.elsuite.basic.json_match:JsonMatch', basicFactories.jsonMatch],
  ['evals.elsuite.modelgraded.classify:ModelBasedClassify', modelGradedFactory],
  ['tetra.match', basicFactories.match],
  ['tetra.includes', basicFactories.includes],
  ['tetra.fuzzy_match', basicFactories.fuzzyMatch],
  ['tetra.json_match', basicFactories.jsonMatch],
  ['tetra.modelgraded', modelGradedFactory],
  ['tetra.multiple_choice', multipleChoiceFactory],
  ['tetra.mmlu', mmluFactory],
  ['tetra.truthfulqa', truthfulqaFactory],
  ['tetra.humaneval', humanevalFactory],
  ['tetra.gsm8k', gsm8kFactory],
  ['tetra.instruct', instructFactory],
  ['tetra.vqa', vqaFactory],
]);

export const knownTemplateClasses = (): string[] => [...TEMPLATE_CLASSES.keys()].sort();

/** Resolves a class name to a factory: the table, then a "file.ts:Export" custom eval. */
export async function templateFactory(cls: string, env: Pick<TemplateEnv, 'file'>): Promise<TemplateFactory> {
  const named = TEMPLATE_CLASSES.get(cls);
  if (named) return named;
  const custom = await customEvalFactory(cls, env);
  if (custom) return custom;
  throw new UnknownClassError(
    `${env.file}: unknown eval class "${cls}". Known classes: ${knownTemplateClasses().join(', ')}; ` +
      'or name a TypeScript file and export, e.g. class: ./my-eval.ts:MyEval',
  );
}
