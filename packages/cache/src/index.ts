export const VERSION_PLACEHOLDER = 'cache';
