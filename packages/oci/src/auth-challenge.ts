/** One challenge from a `WWW-Authenticate` header. */
export interface AuthChallenge {
  /** Lowercased scheme: `bearer`, `basic`, … */
  scheme: string;
  /** Parameters with lowercased names (`realm`, `service`, `scope`, `error`). */
  params: Record<string, string>;
}

/**
 * Parse a `WWW-Authenticate` header into its challenges (RFC 7235: comma-separated
 * challenges, each a scheme followed by `name=value` or `name="quoted"` parameters).
 */
export function parseAuthChallenges(header: string): AuthChallenge[] {
  const challenges: AuthChallenge[] = [];
  let i = 0;
  const n = header.length;
  const skipSpace = (): void => {
    while (i < n && (header[i] === ' ' || header[i] === '\t' || header[i] === ',')) i++;
  };
  const readToken = (): string => {
    const start = i;
    while (i < n && /[!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(header[i] as string)) i++;
    return header.slice(start, i);
  };
  let current: AuthChallenge | undefined;
  while (i < n) {
    skipSpace();
    if (i >= n) break;
    const token = readToken();
    if (token.length === 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < n && (header[j] === ' ' || header[j] === '\t')) j++;
    if (header[j] === '=' && current !== undefined) {
      i = j + 1;
      while (i < n && (header[i] === ' ' || header[i] === '\t')) i++;
      let value = '';
      if (header[i] === '"') {
        i++;
        while (i < n && header[i] !== '"') {
          if (header[i] === '\\' && i + 1 < n) i++;
          value += header[i];
          i++;
        }
        i++;
      } else {
        const start = i;
        while (i < n && header[i] !== ',' && header[i] !== ' ') i++;
        value = header.slice(start, i);
      }
      current.params[token.toLowerCase()] = value;
    } else {
      // token68 forms (`Basic abc==`) are not parameters; a bare token starts a new challenge.
      current = { scheme: token.toLowerCase(), params: {} };
      challenges.push(current);
    }
  }
  return challenges;
}
