export const VERSION_PLACEHOLDER = 'oci';
