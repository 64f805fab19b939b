/* Reading a loaded libyaml document: the Sigma loader's and the override file's. */
#ifndef IMMUNE_YAML_DOC_H
#define IMMUNE_YAML_DOC_H

#include <string.h>
#include <yaml.h>

static inline yaml_node_t *ynode(yaml_document_t *d, int id)
{
	return yaml_document_get_node(d, id);
}

/* The text of a scalar node; NULL for anything else. */
static inline const char *yscalar(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* A map's value under key; NULL when absent or not a map. */
static inline yaml_node_t *yget(yaml_document_t *d, yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		const char *k = yscalar(ynode(d, p->key));
		if (k && strcmp(k, key) == 0)
			return ynode(d, p->value);
	}
	return NULL;
}

static inline const char *ygets(yaml_document_t *d, yaml_node_t *map, const char *key)
{
	return yscalar(yget(d, map, key));
}

/* A sequence's length, or -1 when n is not a sequence. */
static inline int yseq_len(yaml_node_t *n)
{
	return n && n->type == YAML_SEQUENCE_NODE ? (int)(n->data.sequence.items.top - n->data.sequence.items.start) : -1;
}

static inline yaml_node_t *yseq_at(yaml_document_t *d, yaml_node_t *n, int i)
{
	return ynode(d, n->data.sequence.items.start[i]);
}

#endif
