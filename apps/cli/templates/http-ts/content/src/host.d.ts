// Types of the host interfaces the component imports (see wit/), as componentize-js binds them:
// a WIT `result` error is thrown, with the error variant as the exception's `payload`.

declare module 'fermyon:spin/key-value@2.0.0' {
  export type Error = { tag: 'store-table-full' } | { tag: 'no-such-store' } | { tag: 'access-denied' } | { tag: 'other'; val: string };
  export class Store {
    static open(label: string): Store;
    get(key: string): Uint8Array | undefined;
    set(key: string, value: Uint8Array): void;
    delete(key: string): void;
    exists(key: string): boolean;
    getKeys(): string[];
  }
}

declare module 'fermyon:spin/variables@2.0.0' {
  export type Error = { tag: 'invalid-name'; val: string } | { tag: 'undefined'; val: string } | { tag: 'provider'; val: string } | { tag: 'other'; val: string };
  export function get(name: string): string;
}
