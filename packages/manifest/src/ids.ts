/**
 * Spin's identifier rules (spin-serde): kebab-case ids for components, snake_case for
 * labels, lower_snake_case for variable names. Messages match Spin's wording.
 */

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isUpper = (c: number): boolean => c >= 65 && c <= 90;
const isLower = (c: number): boolean => c >= 97 && c <= 122;

function checkId(id: string, delim: '-' | '_', lower: boolean): string | undefined {
  if (id === '') return 'empty';
  const wrong = delim === '-' ? '_' : '-';
  if (id.includes(wrong)) return `words must be separated with '${delim}', not '${wrong}'`;
  for (const word of id.split(delim)) {
    if (word === '') return `'${delim}'-separated words must not be empty`;
    const first = word.charCodeAt(0);
    if (!isUpper(first) && !isLower(first)) return `'${delim}'-separated words must start with an ASCII letter; got '${String.fromCodePoint(word.codePointAt(0) as number)}'`;
    const upper = isUpper(first);
    for (let i = 1; i < word.length; i++) {
      const c = word.charCodeAt(i);
      if (isDigit(c)) continue;
      if (!isUpper(c) && !isLower(c)) return `'${delim}'-separated words may only contain alphanumeric ASCII; got '${String.fromCodePoint(word.codePointAt(i) as number)}'`;
      if (isUpper(c) !== upper) return `'${delim}'-separated words must be all lowercase or all UPPERCASE; got ${JSON.stringify(word)}`;
    }
    if (lower && upper) return `Lower-case identifiers must be all lowercase; got ${JSON.stringify(id)}`;
  }
  return undefined;
}

/** Why `id` is not a valid kebab-case id (component ids), or undefined if it is. */
export function kebabIdProblem(id: string): string | undefined {
  return checkId(id, '-', false);
}

/** Why `id` is not a valid snake_case id, or undefined if it is. */
export function snakeIdProblem(id: string): string | undefined {
  return checkId(id, '_', false);
}

/** Why `id` is not a valid lower_snake_case id (variable names), or undefined if it is. */
export function lowerSnakeIdProblem(id: string): string | undefined {
  return checkId(id, '_', true);
}

/** Whether a key-value or SQLite label is valid (kebab-case or snake_case). */
export function isKebabOrSnake(label: string): boolean {
  return kebabIdProblem(label) === undefined || snakeIdProblem(label) === undefined;
}
