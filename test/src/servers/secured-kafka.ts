import { Kafka, logLevel, AclResourceTypes, AclOperationTypes, AclPermissionTypes, ResourcePatternTypes } from 'kafkajs';
import { startSecuredBroker, type SecuredBrokerHandle } from './secured-broker.js';

/** The secured Kafka of `scripts/security/kafka.sh`, with the `agents` user allowed on the `agents.` prefix only. */
export interface SecuredKafkaHandle extends SecuredBrokerHandle {
  readonly address: string;
  readonly agentsPassword: string;
}

/**
 * Starts the broker (SASL_SSL, SCRAM-SHA-512, StandardAuthorizer, nothing allowed without an
 * ACL), then, as the super user, allows the `agents` user everything on topics and groups
 * whose names start with `agents.` and nothing else.
 */
export async function startSecuredKafka(port: number): Promise<SecuredKafkaHandle> {
  const broker = await startSecuredBroker('kafka', { KAFKA_PORT: String(port), KAFKA_CONTROLLER_PORT: String(port + 1) });
  const address = `127.0.0.1:${port}`;
  try {
    const admin = new Kafka({
      brokers: [address],
      clientId: 'security-test-setup',
      ssl: { ca: [broker.ca] },
      sasl: { mechanism: 'scram-sha-512', username: 'admin', password: broker.credentials.KAFKA_ADMIN_PASSWORD! },
      logLevel: logLevel.NOTHING,
    }).admin();
    await admin.connect();
    const allow = (resourceType: AclResourceTypes) => ({
      resourceType,
      resourceName: 'agents.',
      resourcePatternType: ResourcePatternTypes.PREFIXED,
      principal: 'User:agents',
      host: '*',
      operation: AclOperationTypes.ALL,
      permissionType: AclPermissionTypes.ALLOW,
    });
    await admin.createAcls({ acl: [allow(AclResourceTypes.TOPIC), allow(AclResourceTypes.GROUP)] });
    await admin.disconnect();
  } catch (error) {
    await broker.stop();
    throw error;
  }
  return { ...broker, address, agentsPassword: broker.credentials.KAFKA_AGENTS_PASSWORD! };
}

/** Group ids that start with the topic (so with the namespace), which prefix ACLs can allow. */
export const namespacedGroupId = (group: string, topic: string): string => `${topic}.${group}`;
