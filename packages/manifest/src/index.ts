export const VERSION_PLACEHOLDER = 'manifest';
