// tetra's rubric classifier (src/safety/rbrm.ts) as the grader of the model-graded spec `rbrm`:
// `tetra eval run POLICY,rbrm:DIR tetra-safety` grades offline, with no grader model to call. It
// reads the request and the response out of the filled rubric prompt ([Request]: ... ***,
// [Response]: ... ***) and answers the class letter; any other prompt is an error, because this
// grader knows only that rubric.
import { RbrmClassifier } from '../../safety/index.ts';
import { defaultBackend } from '../../tensor/index.ts';
import { textOf, type Completion, type CompletionFn, type EvalMessage } from '../types.ts';

const field = (text: string, name: string): string | null => {
  const m = new RegExp(`\\[${name}\\]: ([\\s\\S]*?)\\n\\*\\*\\*`).exec(text);
  return m ? m[1].trim() : null;
};

/** A conversation as the rubric prompt shows it: the last user turn is the request. */
const requestOf = (raw: string): string => {
  try {
    const msgs = JSON.parse(raw) as EvalMessage[];
    if (Array.isArray(msgs)) {
      const last = msgs.filter((m) => m.role === 'user').at(-1);
      return last ? textOf(last.content) : raw;
    }
  } catch {
    /* plain text */
  }
  return raw;
};

export class RbrmGraderFn implements CompletionFn {
  readonly name: string;
  private classifier?: Promise<RbrmClassifier>;

  constructor(readonly dir: string) {
    this.name = `rbrm:${dir}`;
  }

  async chat(messages: EvalMessage[]): Promise<Completion> {
    return this.grade(messages.map((m) => m.content).join('\n'));
  }

  async complete(prompt: string): Promise<Completion> {
    return this.grade(prompt);
  }

  private async grade(text: string): Promise<Completion> {
    const request = field(text, 'Request'),
      response = field(text, 'Response');
    if (request === null || response === null)
      throw new Error(`${this.name} grades only the rbrm rubric ([Request]: ... *** [Response]: ... ***); got another prompt`);
    this.classifier ??= RbrmClassifier.load(this.dir, defaultBackend());
    const { label } = (await this.classifier).classify(requestOf(request), response);
    return { texts: [label] };
  }
}
