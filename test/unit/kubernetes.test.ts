import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { expect } from 'chai';
import { parseAllDocuments } from 'yaml';
import { ROLE_TABLE, type RoleName } from '../../src/bootstrap/role-table.ts';
import { secretFiles, SETTINGS } from '../../src/bootstrap/settings.ts';
import { startStubService, startTestRole, type StubService, type TestRole } from '../support/roles.ts';

/**
 * deploy/k8s, held to what a cluster and the app would hold it to, offline: kubectl renders every overlay
 * (kustomize is built into kubectl; no cluster needed), every object is validated against the Kubernetes 1.32
 * JSON schema of its kind in strict mode (unknown fields refused, as `kubectl apply --validate=strict` would),
 * and the manifests are checked against the code: probe routes, ports, setting names, drain timing.
 */
const K8S_DIR = 'deploy/k8s';
const OVERLAYS_DIR = join(K8S_DIR, 'overlays');
const KUBECTL = process.env.KUBECTL ?? 'kubectl';
const require = createRequire(import.meta.url);

type Obj = Record<string, any>;

function kustomize(dir: string): Obj[] {
  let out: string;
  try {
    out = execFileSync(KUBECTL, ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error('kubectl is missing (Debian: apt-get install kubernetes-client)');
    throw new Error(`kubectl kustomize ${dir} failed:\n${e.stderr ?? e.message}`);
  }
  return parseAllDocuments(out).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${dir}: ${doc.errors.join('; ')}`);
    return doc.toJS() as Obj;
  });
}

// ------------------------------------------------------------------------------------------- schemas

/**
 * yannh/kubernetes-json-schema v1.32.0-standalone-strict, pruned to the kinds we use (see
 * test/fixtures/kubernetes/README.md): every object definition has `additionalProperties: false`.
 */
const DEFINITIONS_ID = 'https://hexashop.test/kubernetes-1.32-strict.json';
const definitions = JSON.parse(
  readFileSync('test/fixtures/kubernetes/v1.32.0-standalone-strict.definitions.json', 'utf8'),
) as { definitions: Record<string, Obj> };

function kubernetesValidator(): (object: Obj) => { valid: boolean; errors: string[] } {
  // strictSchema off: the schema carries OpenAPI extensions (x-kubernetes-*) Ajv does not know. The
  // strictness that matters, refusing unknown fields in the data, is the schema's additionalProperties: false.
  const ajv = new Ajv({ strictSchema: false, allErrors: true, validateSchema: false });
  const addFormats = require('ajv-formats') as (ajv: Ajv) => Ajv;
  addFormats(ajv);
  ajv.addSchema({ $id: DEFINITIONS_ID, ...definitions });
  const byKind = new Map<string, string>();
  for (const [name, definition] of Object.entries(definitions.definitions)) {
    for (const gvk of (definition['x-kubernetes-group-version-kind'] ?? []) as Obj[]) {
      const apiVersion = gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version;
      byKind.set(`${apiVersion}/${gvk.kind}`, name);
    }
  }
  const compiled = new Map<string, ValidateFunction>();
  return (object) => {
    const key = `${object.apiVersion}/${object.kind}`;
    const name = byKind.get(key);
    if (!name) return { valid: false, errors: [`no schema for ${key} (vendor it, or fix apiVersion/kind)`] };
    let validate = compiled.get(name);
    if (!validate) {
      validate = ajv.compile({ $ref: `${DEFINITIONS_ID}#/definitions/${name}` });
      compiled.set(name, validate);
    }
    const valid = validate(object);
    const errors = (validate.errors ?? []).map(
      (e) => `${e.instancePath || '/'} ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`,
    );
    return { valid: valid === true, errors };
  };
}

// ------------------------------------------------------------------------------------------- helpers

const overlays = readdirSync(OVERLAYS_DIR).filter((d) => existsSync(join(OVERLAYS_DIR, d, 'kustomization.yaml')));
const rendered = new Map<string, Obj[]>();
const objectsOf = (overlay: string): Obj[] => {
  if (!rendered.has(overlay)) rendered.set(overlay, kustomize(join(OVERLAYS_DIR, overlay)));
  return rendered.get(overlay)!;
};
const ofKind = (objects: Obj[], kind: string) => objects.filter((o) => o.kind === kind);
const named = (objects: Obj[], kind: string, name: string): Obj => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name}`);
  return found;
};
const selects = (selector: Record<string, string> | undefined, labels: Record<string, string>) =>
  Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);
const podTemplates = (objects: Obj[]) =>
  objects.filter((o) => o.kind === 'Deployment' || o.kind === 'Job').map((o) => ({ owner: o, pod: o.spec.template }));
const containersOf = (pod: Obj): Obj[] => [...(pod.spec.initContainers ?? []), ...pod.spec.containers];

/** The settings a container runs with: its env, and the data of the ConfigMaps it takes whole (envFrom). */
function environment(objects: Obj[], container: Obj): Map<string, string> {
  const env = new Map<string, string>();
  for (const from of container.envFrom ?? []) {
    if (!from.configMapRef) continue;
    const map = named(objects, 'ConfigMap', from.configMapRef.name);
    for (const [k, v] of Object.entries(map.data ?? {})) env.set(k, String(v));
  }
  for (const e of container.env ?? []) if (e.value !== undefined) env.set(e.name, String(e.value));
  return env;
}

const roleOf = (container: Obj): RoleName => {
  const args = container.args as string[];
  const at = args.indexOf('--role');
  expect(args[0], `${container.name}: the image's command is \`hexashop start\``).to.equal('start');
  expect(at, `${container.name}: the role is an argument`).to.be.greaterThan(0);
  return args[at + 1] as RoleName;
};

/** The port the role listens on, as the app decides it: --port, else HEXASHOP_PORT, else the role's default. */
function listenPort(container: Obj, env: Map<string, string>): number {
  const args = container.args as string[];
  const flag = args.indexOf('--port');
  if (flag >= 0) return Number(args[flag + 1]);
  if (env.has('HEXASHOP_PORT')) return Number(env.get('HEXASHOP_PORT'));
  return ROLE_TABLE[roleOf(container)].port;
}

const DEFAULT_CONFIG = JSON.parse(readFileSync('config/default.json', 'utf8')) as { shutdownTimeoutMs: number };

/** `role path` of every HTTP probe in every overlay. */
const probePaths = (): Set<string> =>
  new Set(
    overlays.flatMap((overlay) =>
      ofKind(objectsOf(overlay), 'Deployment').flatMap((d) => {
        const c = d.spec.template.spec.containers[0];
        return ['startupProbe', 'livenessProbe', 'readinessProbe'].map((p) => `${roleOf(c)} ${c[p].httpGet.path}`);
      }),
    ),
  );

// --------------------------------------------------------------------------------------------- tests

describe('deploy/k8s (kustomize)', function () {
  this.timeout(120_000);

  it('has the monolith, split and blue-green overlays', () => {
    expect(overlays).to.include.members(['monolith', 'split', 'blue-green']);
  });

  describe('kubectl kustomize', () => {
    for (const overlay of overlays) {
      it(`renders overlays/${overlay}`, () => {
        const objects = objectsOf(overlay);
        expect(objects.length).to.be.greaterThan(5);
        for (const o of objects) {
          expect(o.apiVersion, JSON.stringify(o.metadata)).to.be.a('string');
          expect(o.metadata.namespace ?? 'hexashop', `${o.kind} ${o.metadata.name}`).to.equal('hexashop');
        }
      });
    }
  });

  describe('Kubernetes 1.32 JSON schemas, strict', () => {
    const validate = kubernetesValidator();

    for (const overlay of overlays) {
      it(`accepts every object of overlays/${overlay}`, () => {
        const problems = objectsOf(overlay).flatMap((o) => {
          const { errors } = validate(o);
          return errors.map((e) => `${o.kind} ${o.metadata.name}: ${e}`);
        });
        expect(problems).to.deep.equal([]);
      });
    }

    it('refuses a misspelled field, a mistyped value and an unknown kind (the validation can fail)', () => {
      const deployment = structuredClone(named(objectsOf('split'), 'Deployment', 'product'));
      expect(validate(deployment).valid).to.equal(true);

      const misspelled = structuredClone(deployment);
      misspelled.spec.replica = misspelled.spec.replicas;
      delete misspelled.spec.replicas;
      const refused = validate(misspelled);
      expect(refused.valid).to.equal(false);
      expect(refused.errors.join('\n')).to.match(/additionalProperty.*replica"/);

      const stringPort = structuredClone(deployment);
      stringPort.spec.template.spec.containers[0].ports[0].containerPort = '8081';
      expect(validate(stringPort).errors.join('\n')).to.match(/containerPort must be integer/);

      const nestedTypo = structuredClone(deployment);
      nestedTypo.spec.template.spec.containers[0].securityContext.readOnlyRootFileSystem = true;
      expect(validate(nestedTypo).errors.join('\n')).to.match(/readOnlyRootFileSystem/);

      expect(validate({ ...deployment, apiVersion: 'apps/v1beta1' }).valid).to.equal(false);
    });
  });

  describe('against the app', () => {
    const settingNames = new Set([
      ...SETTINGS.map((s) => s.env),
      ...secretFiles().map((s) => s.env),
      'HEXASHOP_CONFIG', // --config (src/bootstrap/cli.ts)
      'HEXASHOP_DB_ADMIN_URL_FILE', // `hexashop db setup --admin-url-file` (src/bootstrap/cli.ts)
    ]);
    const secretSettings = new Set(SETTINGS.filter((s) => s.secret).map((s) => s.env));

    it('names only real settings, and gives secrets as files only', () => {
      expect(readFileSync('src/bootstrap/cli.ts', 'utf8')).to.include('HEXASHOP_DB_ADMIN_URL_FILE');
      for (const overlay of overlays) {
        const objects = objectsOf(overlay);
        const names = [
          ...ofKind(objects, 'ConfigMap').flatMap((m) => Object.keys(m.data ?? {})),
          ...podTemplates(objects).flatMap(({ pod }) =>
            containersOf(pod).flatMap((c) => (c.env ?? []).map((e: Obj) => e.name as string)),
          ),
        ].filter((n) => n.startsWith('HEXASHOP_'));
        expect(names.length, overlay).to.be.greaterThan(3);
        for (const name of names) {
          expect(settingNames.has(name), `${overlay}: ${name} is not a setting of src/bootstrap/settings.ts`).to.equal(
            true,
          );
          expect(secretSettings.has(name), `${overlay}: ${name} is a secret: give ${name}_FILE`).to.equal(false);
        }
        for (const { owner, pod } of podTemplates(objects)) {
          for (const c of containersOf(pod)) {
            for (const e of (c.env ?? []) as Obj[]) {
              if (!e.name.endsWith('_FILE')) continue;
              const mount = (c.volumeMounts as Obj[]).find((m) => e.value.startsWith(`${m.mountPath}/`));
              const where = `${owner.metadata.name}/${c.name} ${e.name}`;
              expect(mount, `${where}: ${e.value} is on no mount`).to.not.equal(undefined);
              const volume = (pod.spec.volumes as Obj[]).find((v) => v.name === mount!.name);
              expect(volume?.secret, `${where}: not a Secret volume`).to.not.equal(undefined);
              const file = e.value.slice(mount!.mountPath.length + 1);
              const keys = (volume!.secret.items as Obj[]).map((i) => i.path);
              expect(keys, `${where}: the secret volume has no ${file}`).to.include(file);
              const secret = named(objects, 'Secret', volume!.secret.secretName);
              const key = (volume!.secret.items as Obj[]).find((i) => i.path === file)!.key;
              expect(Object.keys({ ...secret.data, ...secret.stringData }), where).to.include(key);
            }
          }
        }
      }
    });

    it('runs one image for every role, the role being an argument, with ports the role listens on', () => {
      for (const overlay of overlays) {
        const objects = objectsOf(overlay);
        const images = new Set(podTemplates(objects).flatMap(({ pod }) => containersOf(pod).map((c) => c.image)));
        expect([...images], overlay).to.have.lengthOf(1);
        for (const d of ofKind(objects, 'Deployment')) {
          const [c, ...others] = d.spec.template.spec.containers as Obj[];
          expect(others, d.metadata.name).to.deep.equal([]);
          const role = roleOf(c!);
          expect(d.spec.template.metadata.labels['app.kubernetes.io/component'], d.metadata.name).to.equal(role);
          const port = listenPort(c!, environment(objects, c!));
          expect(c!.ports, d.metadata.name).to.deep.equal([{ name: 'http', containerPort: port, protocol: 'TCP' }]);
          for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
            const get = c![probe]?.httpGet;
            expect(get, `${d.metadata.name} ${probe}`).to.be.an('object');
            expect([port, 'http'], `${d.metadata.name} ${probe} port`).to.include(get.port);
          }
          expect(c!.livenessProbe.httpGet.path).to.equal('/health/live');
          expect(c!.readinessProbe.httpGet.path).to.equal('/health/ready');
          // Every Service that selects these pods sends to the role's port.
          for (const s of ofKind(objects, 'Service')) {
            if (!selects(s.spec.selector, d.spec.template.metadata.labels)) continue;
            for (const p of s.spec.ports as Obj[]) expect([port, 'http'], s.metadata.name).to.include(p.targetPort);
          }
        }
      }
    });

    it('serves the probe paths on each role (roles started in process)', async () => {
      const paths = probePaths();
      expect(paths.size).to.be.greaterThan(0);
      const stubs: StubService[] = [];
      const started: TestRole[] = [];
      try {
        const upstream = await startStubService();
        stubs.push(upstream);
        const settings: Record<RoleName, Record<string, unknown>> = {
          monolith: { role: 'monolith' },
          gateway: { role: 'gateway', productUpstreams: upstream.url, orderUpstreams: upstream.url },
          product: { role: 'product' },
          order: { role: 'order', productUrl: upstream.url },
        };
        for (const entry of [...paths].sort()) {
          const [role, path] = entry.split(' ') as [RoleName, string];
          const running = await startTestRole(settings[role]);
          started.push(running);
          const response = await fetch(`${running.url}${path}`);
          const body = (await response.json()) as { status?: string | number; code?: string };
          // Readiness may say 503 NOT_READY (a dependency down): the route exists. A 404 would not.
          expect([200, 503], `${role} ${path}`).to.include(response.status);
          if (response.status === 503) expect(body.code, `${role} ${path}`).to.equal('NOT_READY');
          if (path === '/health/live') expect(response.status, `${role} ${path}`).to.equal(200);
          const metrics = await fetch(`${running.url}/metrics`);
          expect(metrics.status, `${role} /metrics`).to.equal(200);
          await metrics.text();
          await running.stop();
          started.pop();
        }
      } finally {
        await Promise.all(started.map((r) => r.stop()));
        await Promise.all(stubs.map((s) => s.close()));
      }
    });

    it("keeps the grace period above the preStop pause plus the app's drain and close", () => {
      for (const overlay of overlays) {
        const objects = objectsOf(overlay);
        for (const d of ofKind(objects, 'Deployment')) {
          const pod = d.spec.template.spec;
          const c = pod.containers[0];
          const env = environment(objects, c);
          const drainMs = Number(env.get('HEXASHOP_SHUTDOWN_TIMEOUT_MS') ?? DEFAULT_CONFIG.shutdownTimeoutMs);
          const preStop = c.lifecycle?.preStop;
          const pauseSeconds = preStop?.sleep?.seconds ?? Number(preStop?.exec?.command?.at(-1) ?? NaN);
          expect(pauseSeconds, `${d.metadata.name}: preStop pause`).to.be.within(1, 15);
          // On SIGTERM the app drains HTTP for up to the drain timeout, then exits by itself at the latest 15 s
          // later (src/bootstrap/cli.ts); the kubelet must not SIGKILL it before.
          expect(pod.terminationGracePeriodSeconds, d.metadata.name).to.be.greaterThan(pauseSeconds + drainMs / 1000);
          expect(pod.terminationGracePeriodSeconds, d.metadata.name).to.be.at.least(pauseSeconds + drainMs / 1000 + 15);
        }
      }
      expect(readFileSync('src/bootstrap/cli.ts', 'utf8')).to.include('config.shutdownTimeoutMs + 15_000');
    });
  });

  describe('production habits', () => {
    it('runs every container non-root (the image user), read-only, without privileges, under RuntimeDefault', () => {
      // node:24 images create `node` with uid/gid 1000; the Dockerfile runs as it.
      expect(readFileSync('Dockerfile', 'utf8')).to.match(/^USER node$/m);
      for (const overlay of overlays) {
        for (const { owner, pod } of podTemplates(objectsOf(overlay))) {
          const podContext = pod.spec.securityContext ?? {};
          expect(pod.spec.automountServiceAccountToken, owner.metadata.name).to.equal(false);
          for (const c of containersOf(pod)) {
            const where = `${overlay} ${owner.metadata.name}/${c.name}`;
            const sc = { ...podContext, ...c.securityContext };
            expect(sc.runAsNonRoot, where).to.equal(true);
            expect(sc.runAsUser, where).to.equal(1000);
            expect(sc.seccompProfile, where).to.deep.equal({ type: 'RuntimeDefault' });
            expect(c.securityContext?.readOnlyRootFilesystem, where).to.equal(true);
            expect(c.securityContext?.allowPrivilegeEscalation, where).to.equal(false);
            expect(c.securityContext?.capabilities?.drop, where).to.deep.equal(['ALL']);
            const tmp = (c.volumeMounts as Obj[]).find((m) => m.mountPath === '/tmp');
            const volume = (pod.spec.volumes as Obj[]).find((v) => v.name === tmp?.name);
            expect(volume?.emptyDir, `${where}: /tmp is an emptyDir`).to.not.equal(undefined);
            expect(c.resources?.requests?.cpu, where).to.be.a('string');
            expect(c.resources?.requests?.memory, where).to.be.a('string');
            expect(c.resources?.limits?.memory, where).to.be.a('string');
            expect(c.resources?.limits?.cpu, where).to.be.a('string');
          }
        }
      }
    });

    it('gives every Deployment an autoscaling/v2 HPA, a PDB, and spreads its pods', () => {
      for (const overlay of overlays) {
        const objects = objectsOf(overlay);
        for (const d of ofKind(objects, 'Deployment')) {
          const where = `${overlay} ${d.metadata.name}`;
          const hpas = ofKind(objects, 'HorizontalPodAutoscaler').filter(
            (h) => h.spec.scaleTargetRef.kind === 'Deployment' && h.spec.scaleTargetRef.name === d.metadata.name,
          );
          expect(hpas, `${where}: one HPA`).to.have.lengthOf(1);
          expect(hpas[0]!.apiVersion).to.equal('autoscaling/v2');
          expect(hpas[0]!.spec.maxReplicas).to.be.at.least(hpas[0]!.spec.minReplicas);
          const labels = d.spec.template.metadata.labels;
          const pdbs = ofKind(objects, 'PodDisruptionBudget').filter((p) =>
            selects(p.spec.selector.matchLabels, labels),
          );
          expect(pdbs, `${where}: one PDB`).to.have.lengthOf(1);
          // A PDB must never let a drain block forever on a single replica.
          if (hpas[0]!.spec.minReplicas === 1) expect(pdbs[0]!.spec.maxUnavailable, where).to.equal(1);
          const spread = d.spec.template.spec.topologySpreadConstraints as Obj[];
          expect(
            spread.map((t) => t.topologyKey),
            where,
          ).to.include.members(['topology.kubernetes.io/zone', 'kubernetes.io/hostname']);
          for (const t of spread) expect(selects(t.labelSelector.matchLabels, labels), where).to.equal(true);
        }
      }
    });

    it('keeps the monolith data dir on a PersistentVolumeClaim, with one replica that is recreated', () => {
      const objects = objectsOf('monolith');
      const [d] = ofKind(objects, 'Deployment');
      expect(d!.spec.replicas).to.equal(1);
      expect(d!.spec.strategy.type).to.equal('Recreate');
      const c = d!.spec.template.spec.containers[0];
      const dataDir = environment(objects, c).get('HEXASHOP_DATA_DIR');
      expect(dataDir).to.equal('/var/lib/hexashop');
      const mount = (c.volumeMounts as Obj[]).find((m) => m.mountPath === dataDir);
      const volume = (d!.spec.template.spec.volumes as Obj[]).find((v) => v.name === mount?.name);
      named(objects, 'PersistentVolumeClaim', volume!.persistentVolumeClaim.claimName);
    });

    it('runs db setup, kafka topics and the migrations in a Job (split overlays)', () => {
      for (const overlay of ['split', 'blue-green']) {
        const [job] = ofKind(objectsOf(overlay), 'Job');
        const steps = containersOf(job!.spec.template).map((c) => (c.args as string[]).join(' '));
        expect(steps, overlay).to.deep.equal([
          'db setup',
          'kafka topics',
          'migrate --role product',
          'migrate --role order',
          'migrate --role gateway',
        ]);
      }
    });

    describe('network policies', () => {
      /** Whether a connection is let through by the policies, as a NetworkPolicy implementation decides it. */
      interface Pod {
        namespace: string;
        labels: Record<string, string>;
        ports?: Obj[];
      }
      const peerMatches = (peer: Obj, policyNamespace: string, pod: Pod) => {
        if (peer.ipBlock) return false;
        const nsOk = peer.namespaceSelector
          ? selects(peer.namespaceSelector.matchLabels, { 'kubernetes.io/metadata.name': pod.namespace })
          : pod.namespace === policyNamespace;
        return nsOk && selects(peer.podSelector?.matchLabels, pod.labels);
      };
      const portMatches = (rulePorts: Obj[] | undefined, port: number, target: Pod) =>
        !rulePorts ||
        rulePorts.some(
          (p) =>
            p.port === port ||
            (typeof p.port === 'string' &&
              (target.ports ?? []).some((cp) => cp.name === p.port && cp.containerPort === port)),
        );
      function allowed(objects: Obj[], from: Pod, to: Pod, port: number): boolean {
        const policies = ofKind(objects, 'NetworkPolicy');
        const side = (pod: Pod, type: 'Egress' | 'Ingress') =>
          policies.filter(
            (p) =>
              p.metadata.namespace === pod.namespace &&
              p.spec.policyTypes.includes(type) &&
              selects(p.spec.podSelector.matchLabels, pod.labels),
          );
        const egress = side(from, 'Egress');
        const egressOk =
          egress.length === 0 ||
          egress.some((p) =>
            (p.spec.egress ?? []).some(
              (r: Obj) =>
                (r.to ?? []).some((peer: Obj) => peerMatches(peer, p.metadata.namespace, to)) &&
                portMatches(r.ports, port, to),
            ),
          );
        const ingress = side(to, 'Ingress');
        const ingressOk =
          ingress.length === 0 ||
          ingress.some((p) =>
            (p.spec.ingress ?? []).some(
              (r: Obj) =>
                (r.from ?? []).some((peer: Obj) => peerMatches(peer, p.metadata.namespace, from)) &&
                portMatches(r.ports, port, to),
            ),
          );
        return egressOk && ingressOk;
      }
      const podsOf = (objects: Obj[]) =>
        new Map(
          ofKind(objects, 'Deployment').map((d) => [
            d.metadata.name as string,
            {
              namespace: 'hexashop',
              labels: d.spec.template.metadata.labels,
              ports: d.spec.template.spec.containers[0].ports,
            } as Pod,
          ]),
        );
      const ingressController: Pod = {
        namespace: 'ingress-nginx',
        labels: { 'app.kubernetes.io/name': 'ingress-nginx' },
      };
      const prometheus: Pod = { namespace: 'monitoring', labels: { 'app.kubernetes.io/name': 'prometheus' } };
      const stranger: Pod = { namespace: 'hexashop', labels: { app: 'debug' } };

      for (const overlay of overlays) {
        it(`denies by default and allows only the shop's paths (${overlay})`, () => {
          const objects = objectsOf(overlay);
          const deny = named(objects, 'NetworkPolicy', 'default-deny-all');
          expect(deny.spec.podSelector).to.deep.equal({});
          expect(deny.spec.policyTypes).to.have.members(['Ingress', 'Egress']);
          const pods = podsOf(objects);
          const dns = { namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } };
          for (const [name, pod] of pods) {
            const port = pod.ports![0]!.containerPort as number;
            expect(allowed(objects, pod, dns, 53), `${name} → DNS`).to.equal(true);
            expect(allowed(objects, prometheus, pod, port), `Prometheus → ${name}`).to.equal(true);
            expect(allowed(objects, stranger, pod, port), `another pod → ${name}`).to.equal(false);
            expect(allowed(objects, pod, stranger, 8080), `${name} → another pod`).to.equal(false);
          }
          const colours = overlay === 'blue-green' ? ['-blue', '-green'] : [''];
          if (overlay === 'monolith') {
            expect(allowed(objects, ingressController, pods.get('monolith')!, 8080)).to.equal(true);
            return;
          }
          for (const colour of colours) {
            const [gateway, product, order] = ['gateway', 'product', 'order'].map((r) => pods.get(`${r}${colour}`)!);
            expect(allowed(objects, ingressController, gateway!, 8080), 'ingress → gateway').to.equal(true);
            expect(allowed(objects, ingressController, product!, 8081), 'ingress → product').to.equal(false);
            expect(allowed(objects, ingressController, order!, 8082), 'ingress → order').to.equal(false);
            expect(allowed(objects, gateway!, product!, 8081), 'gateway → product').to.equal(true);
            expect(allowed(objects, gateway!, order!, 8082), 'gateway → order').to.equal(true);
            expect(allowed(objects, order!, product!, 8081), 'order → product').to.equal(true);
            expect(allowed(objects, product!, order!, 8082), 'product → order').to.equal(false);
            expect(allowed(objects, product!, gateway!, 8080), 'product → gateway').to.equal(false);
            expect(allowed(objects, order!, gateway!, 8080), 'order → gateway').to.equal(false);
          }
          // MySQL, Kafka and Redis by port (the CIDR is a placeholder to narrow per cluster).
          const backing = named(objects, 'NetworkPolicy', 'allow-backing-services-egress');
          const ports = (backing.spec.egress as Obj[]).flatMap((r) => (r.ports as Obj[]).map((p) => p.port));
          expect(ports).to.have.members([3306, 9092, 6379]);
        });
      }
    });

    it('switches blue-green with one Service selector, and keeps each colour on its own upstreams', () => {
      const objects = objectsOf('blue-green');
      const active = named(objects, 'Service', 'gateway');
      const preview = named(objects, 'Service', 'gateway-preview');
      expect([active.spec.selector.version, preview.spec.selector.version]).to.have.members(['blue', 'green']);
      for (const service of [active, preview]) {
        const matching = ofKind(objects, 'Deployment').filter((d) =>
          selects(service.spec.selector, d.spec.template.metadata.labels),
        );
        expect(matching.map((d) => d.metadata.name)).to.deep.equal([`gateway-${service.spec.selector.version}`]);
      }
      for (const colour of ['blue', 'green']) {
        for (const role of ['gateway', 'product', 'order']) {
          const d = named(objects, 'Deployment', `${role}-${colour}`);
          expect(d.spec.selector.matchLabels.version).to.equal(colour);
          const env = environment(objects, d.spec.template.spec.containers[0]);
          expect(env.get('HEXASHOP_PRODUCT_URL')).to.equal(`http://product-${colour}:8081`);
          expect(env.get('HEXASHOP_ORDER_UPSTREAMS')).to.equal(`http://order-${colour}:8082`);
          const service = named(objects, 'Service', `${role}-${colour}`);
          expect(service.spec.selector.version).to.equal(colour);
        }
      }
    });
  });
});
