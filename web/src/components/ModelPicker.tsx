// The model picker: what the plan may call (GET /app/api/models). Each option says whether the
// id is an alias (and of which snapshot) or a snapshot, the context window, and "images" when the
// model reads images.
import type { ModelInfo } from '../../../src/app/contract.ts';
import { pickModel } from '../actions.ts';
import { models, selectedModelId } from '../state.ts';
import { compactTokens } from '../util.ts';

export function modelLabel(m: ModelInfo): string {
  const parts = [m.id, m.alias ? `alias of ${m.snapshot}` : 'snapshot'];
  if (m.context_window) parts.push(`${compactTokens(m.context_window)} context`);
  if (m.image_input) parts.push('images');
  return parts.join(' · ');
}

export function ModelPicker() {
  const list = models.value?.data ?? [];
  const current = selectedModelId.value;
  if (!list.length) return null;
  const aliases = list.filter((m) => m.alias);
  const snapshots = list.filter((m) => !m.alias);
  const known = list.some((m) => m.id === current);
  const option = (m: ModelInfo) => (
    <option key={m.id} value={m.id}>
      {modelLabel(m)}
    </option>
  );
  const report = list.find((m) => m.id === current)?.report;
  return (
    <>
      <select class="model-picker" aria-label="Model" value={current ?? ''} onChange={(e) => pickModel(e.currentTarget.value)}>
        {!known && current && (
          <option value={current} disabled>
            {current} (not available)
          </option>
        )}
        {aliases.length > 0 && <optgroup label="Aliases">{aliases.map(option)}</optgroup>}
        {snapshots.length > 0 && <optgroup label="Snapshots">{snapshots.map(option)}</optgroup>}
      </select>
      {report && (
        <a class="report-link" href={report} target="_blank" rel="noopener" title="The model's report card: evals, safety, scaling">
          Report card
        </a>
      )}
    </>
  );
}
