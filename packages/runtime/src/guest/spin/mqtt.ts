/** `fermyon:spin/mqtt@2.0.0` for guests, in jco's import shape, over the main thread's MQTT service. */
import { failure } from '../wasi/result.js';
import type { MqttError, MqttQos } from '../../services/mqtt-service.js';
import type { Outcome } from '../../services/service-outcome.js';
import { DISPOSE } from './resource-dispose.js';
import type { ServiceClient } from './service-client.js';

/** The import object for a component's MQTT interface. */
export function mqttImports(client: ServiceClient): Record<string, Record<string, unknown>> {
  const call = <T>(op: string, args: unknown[]): Outcome<T, MqttError> => client.call<T, MqttError>('mqtt', op, args);
  const unwrap = <T>(o: Outcome<T, MqttError>): T => {
    if (!o.ok) throw failure(o.error);
    return o.value;
  };

  class Connection {
    readonly #handle: number;
    private constructor(handle: number) {
      this.#handle = handle;
    }
    static open(address: string, username: string, password: string, keepAliveIntervalInSecs: bigint): Connection {
      const handle = unwrap(call<number>('open', [address, username, password, keepAliveIntervalInSecs]));
      client.opened();
      return new Connection(handle);
    }
    publish(topic: string, payload: Uint8Array, qos: MqttQos): void {
      unwrap(call('publish', [this.#handle, topic, payload, qos]));
    }
    [DISPOSE](): void {
      call('drop', [this.#handle]);
    }
  }

  return { 'fermyon:spin/mqtt': { Connection } };
}
