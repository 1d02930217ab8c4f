export const VERSION_PLACEHOLDER = 'runtime';
