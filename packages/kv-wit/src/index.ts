export const VERSION_PLACEHOLDER = 'kv-wit';
