// How well a classifier agrees with held-out labels: accuracy, per-class precision, recall and
// F1, macro-F1 and the confusion matrix (rows: the label, columns: the prediction).
export interface Agreement<L extends string> {
  n: number;
  accuracy: number;
  perClass: Record<L, { precision: number; recall: number; f1: number; support: number }>;
  macroF1: number;
  confusion: Record<L, Record<L, number>>;
}

export function agreement<L extends string>(classes: readonly L[], pairs: { label: L; predicted: L }[]): Agreement<L> {
  const confusion = Object.fromEntries(classes.map((a) => [a, Object.fromEntries(classes.map((b) => [b, 0]))])) as Record<
    L,
    Record<L, number>
  >;
  for (const p of pairs) confusion[p.label][p.predicted]++;
  const perClass = {} as Agreement<L>['perClass'];
  for (const c of classes) {
    const tp = confusion[c][c];
    const predicted = classes.reduce((s, r) => s + confusion[r][c], 0);
    const support = classes.reduce((s, p) => s + confusion[c][p], 0);
    const precision = predicted ? tp / predicted : 0,
      recall = support ? tp / support : 0;
    perClass[c] = { precision, recall, f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0, support };
  }
  const present = classes.filter((c) => perClass[c].support > 0);
  return {
    n: pairs.length,
    accuracy: pairs.length ? pairs.filter((p) => p.label === p.predicted).length / pairs.length : Number.NaN,
    perClass,
    macroF1: present.length ? present.reduce((s, c) => s + perClass[c].f1, 0) / present.length : Number.NaN,
    confusion,
  };
}
